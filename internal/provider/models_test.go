package provider

import (
	"context"
	"reflect"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/awsclient"
)

func assumeRoleObject(t *testing.T, arn string) types.Object {
	t.Helper()
	typ := cloudCredentialObjectAttributes()["assume_role"].GetType()
	return objectOf(t, typ, map[string]attr.Value{"role_arn": types.StringValue(arn), "session_name": types.StringValue("ops")})
}

// TestCloudCredentialModel_credentials: the model becomes awsclient's Credentials as given; an
// assume_role block becomes an AssumeRole, and its absence none.
func TestCloudCredentialModel_credentials(t *testing.T) {
	ctx := context.Background()
	const role = "arn:aws:iam::123456789012:role/ops"
	for _, tc := range []struct {
		name string
		m    cloudCredentialModel
		want awsclient.Credentials
	}{
		{"keys", cloudCredentialModel{Region: types.StringValue("us-west-2"), AccessKey: types.StringValue("AKIA"), SecretKey: types.StringValue("s"),
			SessionToken: types.StringValue("t"), AssumeRole: types.ObjectNull(assumeRoleObject(t, role).AttributeTypes(ctx))},
			awsclient.Credentials{Region: "us-west-2", AccessKey: "AKIA", SecretKey: "s", SessionToken: "t"}},
		{"profile", cloudCredentialModel{Region: types.StringValue("eu-west-1"), Profile: types.StringValue("ops"), AssumeRole: types.ObjectUnknown(assumeRoleObject(t, role).AttributeTypes(ctx))},
			awsclient.Credentials{Region: "eu-west-1", Profile: "ops"}},
		{"assumed role", cloudCredentialModel{Region: types.StringValue("us-west-2"), AssumeRole: assumeRoleObject(t, role)},
			awsclient.Credentials{Region: "us-west-2", AssumeRole: &awsclient.AssumeRole{RoleARN: role, SessionName: "ops"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, diags := tc.m.credentials(ctx)
			if diags.HasError() {
				t.Fatal(diags)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("credentials = %+v; want %+v", got, tc.want)
			}
		})
	}
}

// TestCloudCredentialModel_authEqual: only how the credential authenticates counts; its name,
// region and identity do not.
func TestCloudCredentialModel_authEqual(t *testing.T) {
	base := cloudCredentialModel{Name: types.StringValue("aws"), Region: types.StringValue("us-west-2"), AccessKey: types.StringValue("AKIA1"),
		SecretKey: types.StringValue("s1"), SessionToken: types.StringNull(), Profile: types.StringNull(), AssumeRole: types.ObjectNull(nil),
		AccountID: types.StringValue("123456789012")}
	for _, tc := range []struct {
		name   string
		change func(*cloudCredentialModel)
		want   bool
	}{
		{"same", func(*cloudCredentialModel) {}, true},
		{"other region", func(m *cloudCredentialModel) { m.Region = types.StringValue("eu-west-1") }, true},
		{"other name", func(m *cloudCredentialModel) { m.Name = types.StringValue("other") }, true},
		{"other account", func(m *cloudCredentialModel) { m.AccountID = types.StringNull() }, true},
		{"rotated key", func(m *cloudCredentialModel) { m.AccessKey = types.StringValue("AKIA2") }, false},
		{"rotated secret", func(m *cloudCredentialModel) { m.SecretKey = types.StringValue("s2") }, false},
		{"a session token", func(m *cloudCredentialModel) { m.SessionToken = types.StringValue("t") }, false},
		{"a profile", func(m *cloudCredentialModel) { m.Profile = types.StringValue("ops") }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := base
			tc.change(&o)
			if got := base.authEqual(o); got != tc.want {
				t.Errorf("authEqual = %v; want %v", got, tc.want)
			}
		})
	}
}

// TestCloudCredentialObjectAttributes: the object other resources receive has every attribute
// of the credential resource but those it does not need (arn, user_id), each as sensitive as
// the resource's, so that passing the resource whole works and leaks no secret.
func TestCloudCredentialObjectAttributes(t *testing.T) {
	res := resourceSchema(&cloudCredentialResource{})
	obj := cloudCredentialObjectAttributes()
	sensitive := func(prefix string, want map[string]bool, got map[string]schema.Attribute) {
		for name, s := range want {
			if a, ok := got[name]; !ok {
				t.Errorf("the credential's %s%s is not in the object other resources receive", prefix, name)
			} else if a.IsSensitive() != s {
				t.Errorf("%s%s: sensitive %v in the received object, %v in the credential", prefix, name, a.IsSensitive(), s)
			}
		}
		if len(got) != len(want) {
			t.Errorf("%sthe received object has %d attributes; the credential %d", prefix, len(got), len(want))
		}
	}
	top := map[string]bool{"assume_role": false}
	for name, a := range res.Attributes {
		if name != "arn" && name != "user_id" {
			top[name] = a.IsSensitive()
		}
	}
	sensitive("", top, obj)
	role := map[string]bool{}
	for name, a := range res.Blocks["assume_role"].(schema.SingleNestedBlock).Attributes {
		role[name] = a.IsSensitive()
	}
	sensitive("assume_role.", role, obj["assume_role"].(schema.SingleNestedAttribute).Attributes)
}
