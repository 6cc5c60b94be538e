package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/acctest"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/provisioning"
)

const nodeTemplateAddr = "ec2k8s_node_template.ubuntu"

// templateConfig is a credential with the given keys plus a template with extra attributes.
func templateConfig(m *acctest.Moto, accessKey, secretKey, attrs string) string {
	return acctest.ProviderConfig(m) + acctest.CredentialConfig("aws", "us-west-2", accessKey, secretKey) + `
resource "ec2k8s_node_template" "ubuntu" {
  name             = "ubuntu"
  cloud_credential = ec2k8s_cloud_credential.aws
` + attrs + `
}
`
}

// gravitonAttrs change a template to an arm64 type in zone b, with labels, taints, tags and
// engine settings.
const gravitonAttrs = `
  zone                  = "b"
  instance_type         = "m7g.large"
  private_address_only  = true
  tags                  = { team = "platform" }
  node_labels           = { "topology.example.com/tier" = "core" }
  node_taints           = [{ key = "dedicated", value = "core", effect = "NoSchedule" }]
  engine_registry_mirrors = ["https://mirror.example.com"]
  engine_env            = { HTTPS_PROXY = "http://proxy.internal:3128" }
`

func TestAccNodeTemplate_lifecycle(t *testing.T) {
	moto := acctest.SharedMoto(t)
	c := acctest.EC2(moto, "us-west-2")
	vpc := acctest.DefaultVPC(t, c)
	subnetA := acctest.DefaultSubnet(t, c, "us-west-2a")
	subnetB := acctest.DefaultSubnet(t, c, "us-west-2b")
	known := func(attr, want string) statecheck.StateCheck {
		return statecheck.ExpectKnownValue(nodeTemplateAddr, tfjsonpath.New(attr), knownvalue.StringExact(want))
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             acctest.CheckNothingCreated(moto, "us-west-2"),
		Steps: []resource.TestStep{
			{
				// Defaults: the credential's region, zone a, the default VPC and its subnet there,
				// the newest Canonical Ubuntu 24.04 for x86_64, secure settings.
				Config: templateConfig(moto, acctest.AccessKey, acctest.SecretKey, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					known("id", "ubuntu"),
					known("region", "us-west-2"),
					known("availability_zone", "us-west-2a"),
					known("vpc_id", vpc),
					known("subnet_id", subnetA),
					known("ami", acctest.UbuntuNobleAMD64),
					known("architecture", "x86_64"),
					known("instance_type", "t3.medium"),
					known("http_tokens", "required"),
					known("volume_type", "gp3"),
					known("ssh_user", "ubuntu"),
					statecheck.ExpectKnownValue(nodeTemplateAddr, tfjsonpath.New("http_put_response_hop_limit"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(nodeTemplateAddr, tfjsonpath.New("encrypted"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(nodeTemplateAddr, tfjsonpath.New("use_private_address"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(nodeTemplateAddr, tfjsonpath.New("security_groups"), knownvalue.SetExact([]knownvalue.Check{knownvalue.StringExact("rancher-nodes")})),
					statecheck.ExpectKnownValue(nodeTemplateAddr, tfjsonpath.New("cloud_credential").AtMapKey("account_id"), knownvalue.StringExact(acctest.AccountID)),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				// A template change: Graviton type, zone b, tags, engine options. The AMI follows
				// the architecture and the subnet follows the zone; updated in place.
				Config: templateConfig(moto, acctest.AccessKey, acctest.SecretKey, gravitonAttrs),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(nodeTemplateAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(nodeTemplateAddr, tfjsonpath.New("vpc_id"), knownvalue.StringExact(vpc)),
						plancheck.ExpectUnknownValue(nodeTemplateAddr, tfjsonpath.New("subnet_id")),
						plancheck.ExpectUnknownValue(nodeTemplateAddr, tfjsonpath.New("ami")),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					known("availability_zone", "us-west-2b"),
					known("subnet_id", subnetB),
					known("ami", acctest.UbuntuNobleARM64),
					known("architecture", "arm64"),
					statecheck.ExpectKnownValue(nodeTemplateAddr, tfjsonpath.New("use_private_address"), knownvalue.Bool(true)),
				},
			},
			{
				// Rotating the credential's keys updates both in place and re-resolves nothing.
				Config: templateConfig(moto, rotatedKey, rotatedSecret, gravitonAttrs),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(cloudCredentialAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectResourceAction(nodeTemplateAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(nodeTemplateAddr, tfjsonpath.New("vpc_id"), knownvalue.StringExact(vpc)),
						plancheck.ExpectKnownValue(nodeTemplateAddr, tfjsonpath.New("subnet_id"), knownvalue.StringExact(subnetB)),
						plancheck.ExpectKnownValue(nodeTemplateAddr, tfjsonpath.New("ami"), knownvalue.StringExact(acctest.UbuntuNobleARM64)),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(nodeTemplateAddr, tfjsonpath.New("cloud_credential").AtMapKey("access_key"), knownvalue.StringExact(rotatedKey)),
				},
			},
			// Import by name with an import block: only the name comes back, so the plan updates
			// the template in place from the configuration and resolves it again.
			importBlockStep(nodeTemplateAddr, "ubuntu",
				plancheck.ExpectKnownValue(nodeTemplateAddr, tfjsonpath.New("id"), knownvalue.StringExact("ubuntu")),
				plancheck.ExpectKnownValue(nodeTemplateAddr, tfjsonpath.New("availability_zone"), knownvalue.StringExact("us-west-2b")),
				plancheck.ExpectUnknownValue(nodeTemplateAddr, tfjsonpath.New("ami"))),
		},
	})
}

// TestAccNodeTemplate_importBlock imports a template by name and lets the apply fill it in.
func TestAccNodeTemplate_importBlock(t *testing.T) {
	moto := acctest.SharedMoto(t)
	config := templateConfig(moto, acctest.AccessKey, acctest.SecretKey, "")
	testAccRun(t, []resource.TestStep{importBlockApplyStep(config, nodeTemplateAddr, "ubuntu",
		statecheck.ExpectKnownValue(nodeTemplateAddr, tfjsonpath.New("ami"), knownvalue.StringExact(acctest.UbuntuNobleAMD64)))})
}

// TestAccNodeTemplate_keepsAMI shows the resolved AMI is kept when an unrelated setting
// changes, even when a newer image appears meanwhile.
func TestAccNodeTemplate_keepsAMI(t *testing.T) {
	moto := acctest.SharedMoto(t)
	testAccRun(t, []resource.TestStep{
		{
			Config: templateConfig(moto, acctest.AccessKey, acctest.SecretKey, `ami = "`+acctest.UbuntuNobleAMD64Old+`"`),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(nodeTemplateAddr, tfjsonpath.New("ami"), knownvalue.StringExact(acctest.UbuntuNobleAMD64Old)),
			},
		},
		{
			// Dropping ami from the configuration keeps the image in use.
			Config: templateConfig(moto, acctest.AccessKey, acctest.SecretKey, `root_size = 40`),
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{
					plancheck.ExpectKnownValue(nodeTemplateAddr, tfjsonpath.New("ami"), knownvalue.StringExact(acctest.UbuntuNobleAMD64Old)),
				},
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
		},
	})
}

// TestAccNodeTemplate_ec2Errors: what only EC2 can tell, at apply, naming attribute and value.
func TestAccNodeTemplate_ec2Errors(t *testing.T) {
	moto := acctest.SharedMoto(t)
	c := acctest.EC2(moto, "us-west-2")
	subnetB := acctest.DefaultSubnet(t, c, "us-west-2b")
	otherVPC, otherSubnet, otherSG := acctest.CreateVPC(t, c, "10.99.0.0/24", "us-west-2a", "elsewhere")
	for name, tc := range map[string]struct{ attrs, want string }{
		"missing AMI":           {`ami = "ami-00000000deadbeef0"`, `ami: "ami-00000000deadbeef0" does not exist in us-west-2`},
		"AMI of other arch":     {`ami = "` + acctest.UbuntuNobleARM64 + `"`, `is a arm64 image but instance type t3.medium runs x86_64`},
		"subnet in other zone":  {`subnet_id = "` + subnetB + `"`, fmt.Sprintf(`subnet_id: %q is in zone us-west-2b, not in the template's zone us-west-2a`, subnetB)},
		"subnet in other VPC":   {`subnet_id = "` + otherSubnet + `"`, fmt.Sprintf(`subnet_id: %q is in %s, not in the template's VPC`, otherSubnet, otherVPC)},
		"group in other VPC":    {`security_groups = ["` + otherSG + `"]`, fmt.Sprintf(`security_groups: %q (elsewhere) is in %s, not in the template's VPC`, otherSG, otherVPC)},
		"unknown group name":    {`security_groups = ["web"]`, `security_groups: no group named "web"`},
		"readonly, no group":    {`security_group_readonly = true`, `"rancher-nodes" does not exist in`},
		"missing VPC":           {`vpc_id = "vpc-0123456789abcdef0"`, `vpc_id: "vpc-0123456789abcdef0" does not exist in us-west-2`},
		"unknown zone":          {`zone = "z"`, `zone: "z": region us-west-2 has no zone us-west-2z`},
		"root below snapshot":   {`root_size = 10`, `root_size: 10 GiB is smaller than the root snapshot of`},
		"unknown instance type": {`instance_type = "t9.galactic"`, `instance_type: "t9.galactic" is not offered`},
	} {
		t.Run(name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				PreCheck:                 func() { acctest.PreCheck(t) },
				ProtoV6ProviderFactories: testAccProviders,
				CheckDestroy:             acctest.CheckNothingCreated(moto, "us-west-2"),
				Steps: []resource.TestStep{{
					Config:      templateConfig(moto, acctest.AccessKey, acctest.SecretKey, tc.attrs),
					ExpectError: acctest.ErrorRe(tc.want),
				}},
			})
		})
	}
}

// manyGroups is n security group IDs, quoted and comma-separated.
func manyGroups(n int) string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("%q", fmt.Sprintf("sg-%08x", i+1)))
	}
	return strings.Join(out, ", ")
}

// TestAccNodeTemplate_planErrors: what can be known from the configuration alone fails at plan
// time, before any AWS call.
func TestAccNodeTemplate_planErrors(t *testing.T) {
	moto := acctest.SharedMoto(t)
	for name, tc := range map[string]struct{ attrs, want string }{
		"zone shape":             {`zone = "2a"`, `"2a" is not an availability zone`},
		"zone of other region":   {`zone = "eu-west-1a"`, `"eu-west-1a" is not a zone of region "us-west-2"`},
		"vpc id":                 {`vpc_id = "vpc-xyz"`, `"vpc-xyz" is not a VPC ID`},
		"subnet id":              {`subnet_id = "sub-12345678"`, `"sub-12345678" is not a subnet ID`},
		"ami id":                 {`ami = "ubuntu-24.04"`, `"ubuntu-24.04" is not a AMI ID`},
		"sg id":                  {`security_groups = ["sg-zz"]`, `"sg-zz" is not a security group ID`},
		"instance type":          {`instance_type = "large"`, `"large" is not an EC2 instance type`},
		"root size":              {`root_size = 4`, `4 GiB is not a usable root volume size`},
		"volume type":            {`volume_type = "io9"`, `"io9" is not a supported volume type`},
		"ssh user":               {`ssh_user = "Root User"`, `"Root User" is not a Linux user name`},
		"ssh key":                {`ssh_public_key = "-----BEGIN OPENSSH PRIVATE KEY-----"`, `not an OpenSSH public key EC2 can import`},
		"profile":                {`iam_instance_profile = "has space"`, `"has space" is not an IAM instance profile`},
		"spot price":             {`spot_price = -1`, `-1 is not a spot price`},
		"spot without request":   {`spot_price = 0.05`, `spot_price is set but request_spot_instance is false`},
		"private address":        {"private_address_only = true\nuse_private_address = false", `use_private_address cannot be false`},
		"kms without encryption": {"encrypted = false\nkms_key_id = \"alias/ebs\"", `kms_key_id is set but encrypted is false`},
		"kms key":                {`kms_key_id = "my-key"`, `"my-key" is not a KMS key`},
		"http tokens":            {`http_tokens = "maybe"`, `"maybe" is not a supported http_tokens value`},
		"hop limit":              {`http_put_response_hop_limit = 0`, `0 is not a hop limit`},
		"open port":              {`open_ports = ["70000"]`, `"70000" is not a port`},
		"ssh cidr":               {`ssh_cidr_blocks = ["10.0.0.1/8"]`, `"10.0.0.1/8" has host bits set: did you mean 10.0.0.0/8?`},
		"reserved tag":           {`tags = { ` + provisioning.TagName + ` = "x" }`, `tag key "` + provisioning.TagName + `" is set by the provider`},
		"aws tag":                {`tags = { "aws:owner" = "x" }`, `the aws: prefix is reserved`},
		"too many groups":        {`security_groups = [` + manyGroups(17) + `]`, `17 given; at most 16: EC2 attaches at most 16 security groups`},
		"too many tags":          {`tags = {` + manyTags(43) + `}`, `43 tags given; at most 39`},
		"label key":              {`node_labels = { "-bad" = "x" }`, `"-bad" is not a Kubernetes label key`},
		"node-role label":        {`node_labels = { "node-role.kubernetes.io/worker" = "true" }`, `a kubelet may not label its node with`},
		"taint effect":           {`node_taints = [{ key = "a", effect = "Never" }]`, `"Never" is not a supported taint effect`},
		"engine url":             {`engine_install_url = "get.docker.com"`, `"get.docker.com" is not a URL`},
		"insecure registry":      {`engine_insecure_registries = ["http://reg:5000"]`, `is not a registry host`},
		"engine env":             {`engine_env = { "1PROXY" = "x" }`, `"1PROXY" is not an environment variable name`},
		"engine option":          {`engine_options = { "--debug" = "true" }`, `"--debug" is not a daemon option name`},
		"storage driver":         {`engine_storage_driver = "aufs"`, `"aufs" is not a supported storage driver`},
		"user data size":         {`user_data = "` + strings.Repeat("x", 9000) + `"`, `extra user data is 9000 bytes`},
	} {
		t.Run(name, func(t *testing.T) {
			testAccRun(t, []resource.TestStep{planErrorStep(templateConfig(moto, acctest.AccessKey, acctest.SecretKey, tc.attrs), tc.want)})
		})
	}
}

// manyTags is n tags, as the inside of an HCL map.
func manyTags(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, " t%d = \"v\",", i)
	}
	return strings.TrimSuffix(b.String(), ",")
}

// TestAccNodeTemplate_logsNoSecret runs with TRACE logging into a file and checks that the
// validation is logged at INFO with what was checked, and that no secret appears anywhere.
func TestAccNodeTemplate_logsNoSecret(t *testing.T) {
	moto := acctest.SharedMoto(t)
	logFile := t.TempDir() + "/trace.log"
	t.Setenv("TF_ACC_LOG_PATH", logFile)
	t.Setenv("TF_LOG", "TRACE")
	const secret = "ec2k8s-SECRET-that-must-never-be-logged"
	testAccRun(t, []resource.TestStep{{
		Config: templateConfig(moto, rotatedKey, secret, ""),
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue(nodeTemplateAddr, tfjsonpath.New("ami"), knownvalue.NotNull()),
		},
	}})
	log := acctest.ReadFile(t, logFile)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`\[INFO\] +ec2k8s: validated cloud credential:.*auth="access key AKIA…D000"`),
		regexp.MustCompile(`\[INFO\] +ec2k8s: validated node template:.*ami=` + acctest.UbuntuNobleAMD64),
	} {
		if !want.MatchString(log) {
			t.Errorf("the TRACE log has no line matching %s", want)
		}
	}
	// The test harness logs the configuration it was given, which holds the secret by
	// necessity; every other entry, the provider's, the framework's and the CLI's, must not.
	entries := acctest.ParseLog(log)
	if len(entries) < 100 {
		t.Fatalf("the TRACE log has %d entries; logging did not reach %s", len(entries), logFile)
	}
	for _, e := range entries {
		if e.Logger == "sdk.helper_resource" {
			continue
		}
		if strings.Contains(e.Text, secret) {
			t.Errorf("a %q log entry contains the secret key:\n%.300s", e.Logger, e.Text)
		}
		if e.Logger == "ec2k8s" && strings.Contains(e.Text, rotatedKey) {
			t.Errorf("a provider log entry contains the whole access key ID; it should be masked:\n%.300s", e.Text)
		}
	}
}

// TestNodeTemplateModel_region: the template's region, else its credential's; unknown while
// the credential is.
func TestNodeTemplateModel_region(t *testing.T) {
	ctx := context.Background()
	credType := resourceSchema(&nodeTemplateResource{}).Attributes["cloud_credential"].GetType()
	cred := objectOf(t, credType, map[string]attr.Value{"id": types.StringValue("aws"), "region": types.StringValue("eu-west-1")})
	for _, tc := range []struct {
		name       string
		region     types.String
		credential types.Object
		want       types.String
	}{
		{"its own", types.StringValue("us-west-2"), cred, types.StringValue("us-west-2")},
		{"the credential's", types.StringNull(), cred, types.StringValue("eu-west-1")},
		{"credential unknown", types.StringNull(), types.ObjectUnknown(cred.AttributeTypes(ctx)), types.StringUnknown()},
		{"its own, credential unknown", types.StringValue("us-west-2"), types.ObjectUnknown(cred.AttributeTypes(ctx)), types.StringValue("us-west-2")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := nodeTemplateModel{Region: tc.region, CloudCredential: tc.credential}
			if got := m.region(ctx); !got.Equal(tc.want) {
				t.Errorf("region = %s; want %s", got, tc.want)
			}
		})
	}
}
