package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/provisioning"
)

func (r *nodeTemplateResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan nodeTemplateModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.resolve(ctx, &plan, "", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *nodeTemplateResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state nodeTemplateModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.resolve(ctx, &plan, state.AMI.ValueString(), &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// resolve checks the planned template against EC2 and fills in what it resolved. keepAMI is the
// AMI resolved before, kept while it exists and fits.
func (r *nodeTemplateResource) resolve(ctx context.Context, m *nodeTemplateModel, keepAMI string, diags *diag.Diagnostics) {
	if r.data == nil {
		addNotConfigured(diags)
		return
	}
	cred, ok, d := m.credential(ctx)
	diags.Append(d...)
	if !ok {
		diags.AddAttributeError(path.Root("cloud_credential"), "Missing cloud credential", "cloud_credential is not known; pass an ec2k8s_cloud_credential.")
		return
	}
	creds, d := cred.credentials(ctx)
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	creds.Region = m.Region.ValueString()
	cfg, err := r.data.aws.Config(ctx, creds)
	if err != nil {
		diags.AddError("Cannot load AWS configuration", err.Error())
		return
	}
	var groups []string
	diags.Append(m.SecurityGroups.ElementsAs(ctx, &groups, false)...)
	if diags.HasError() {
		return
	}
	t := provisioning.Template{
		Region:                m.Region.ValueString(),
		Zone:                  m.Zone.ValueString(),
		VPCID:                 m.VPCID.ValueString(),
		SubnetID:              m.SubnetID.ValueString(),
		SecurityGroups:        groups,
		SecurityGroupReadonly: m.SecurityGroupReadonly.ValueBool(),
		AMI:                   m.AMI.ValueString(),
		InstanceType:          m.InstanceType.ValueString(),
		RootSize:              m.RootSize.ValueInt64(),
	}
	res, err := provisioning.ResolveTemplate(ctx, r.data.aws.EC2(cfg, nil), t, keepAMI)
	if fes := provisioning.FieldErrors(err); len(fes) > 0 {
		for _, fe := range fes {
			diags.AddAttributeError(path.Root(fe.Field), "Invalid node template",
				fmt.Sprintf("Node template %q does not fit what EC2 has in %s. %s", m.Name.ValueString(), t.Region, fe.Error()))
		}
		return
	}
	if err != nil {
		diags.AddError("Cannot check node template against EC2",
			fmt.Sprintf("Node template %q could not be checked with %s. Check the credential's permissions "+
				"(data.ec2k8s_iam_policy) and the provider's endpoints.ec2.\n\n%s", m.Name.ValueString(), creds.Method(), err))
		return
	}
	for _, w := range res.Warnings {
		diags.AddAttributeWarning(path.Root("instance_type"), "Instance type below Kubernetes' needs", w)
	}
	m.ID = m.Name
	m.AvailabilityZone = types.StringValue(res.AvailabilityZone)
	m.VPCID = types.StringValue(res.VPCID)
	m.SubnetID = types.StringValue(res.SubnetID)
	m.AMI = types.StringValue(res.AMI)
	m.Architecture = types.StringValue(res.Architecture)
	tflog.Info(ctx, "validated node template", map[string]any{
		"name": m.Name.ValueString(), "credential": cred.ID.ValueString(), "auth": creds.Method(),
		"region": t.Region, "availability_zone": res.AvailabilityZone, "vpc_id": res.VPCID, "subnet_id": res.SubnetID,
		"security_groups": groups, "ami": res.AMI, "architecture": res.Architecture, "instance_type": t.InstanceType,
	})
}

// Read has nothing to refresh: the template is not an AWS object. It was checked when applied.
func (r *nodeTemplateResource) Read(context.Context, resource.ReadRequest, *resource.ReadResponse) {
	// NO-OP: the response starts as the prior state, which is all there is.
}

func (r *nodeTemplateResource) Delete(context.Context, resource.DeleteRequest, *resource.DeleteResponse) {
	// NO-OP: nothing exists on AWS; removing it from state is all there is.
}
