package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/provisioning"
)

var (
	_ resource.ResourceWithConfigure      = (*templateResource)(nil)
	_ resource.ResourceWithImportState    = (*templateResource)(nil)
	_ resource.ResourceWithValidateConfig = (*templateResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*templateResource)(nil)
)

func newTemplateResource() resource.Resource { return &templateResource{} }

// templateResource is how a node is made, checked against EC2. It creates nothing on AWS.
type templateResource struct {
	data *providerData
}

type templateModel struct {
	ID                       types.String  `tfsdk:"id"`
	Name                     types.String  `tfsdk:"name"`
	CloudCredential          types.Object  `tfsdk:"cloud_credential"`
	Region                   types.String  `tfsdk:"region"`
	Zone                     types.String  `tfsdk:"zone"`
	AvailabilityZone         types.String  `tfsdk:"availability_zone"`
	VPCID                    types.String  `tfsdk:"vpc_id"`
	SubnetID                 types.String  `tfsdk:"subnet_id"`
	SecurityGroups           types.Set     `tfsdk:"security_groups"`
	SecurityGroupReadonly    types.Bool    `tfsdk:"security_group_readonly"`
	OpenPorts                types.Set     `tfsdk:"open_ports"`
	SSHCIDRBlocks            types.Set     `tfsdk:"ssh_cidr_blocks"`
	AMI                      types.String  `tfsdk:"ami"`
	Architecture             types.String  `tfsdk:"architecture"`
	InstanceType             types.String  `tfsdk:"instance_type"`
	RootSize                 types.Int64   `tfsdk:"root_size"`
	VolumeType               types.String  `tfsdk:"volume_type"`
	Encrypted                types.Bool    `tfsdk:"encrypted"`
	KMSKeyID                 types.String  `tfsdk:"kms_key_id"`
	SSHUser                  types.String  `tfsdk:"ssh_user"`
	SSHPublicKey             types.String  `tfsdk:"ssh_public_key"`
	IAMInstanceProfile       types.String  `tfsdk:"iam_instance_profile"`
	PrivateAddressOnly       types.Bool    `tfsdk:"private_address_only"`
	UsePrivateAddress        types.Bool    `tfsdk:"use_private_address"`
	RequestSpotInstance      types.Bool    `tfsdk:"request_spot_instance"`
	SpotPrice                types.Float64 `tfsdk:"spot_price"`
	Monitoring               types.Bool    `tfsdk:"monitoring"`
	EBSOptimized             types.Bool    `tfsdk:"ebs_optimized"`
	HTTPTokens               types.String  `tfsdk:"http_tokens"`
	HTTPPutResponseHopLimit  types.Int64   `tfsdk:"http_put_response_hop_limit"`
	Tags                     types.Map     `tfsdk:"tags"`
	UserData                 types.String  `tfsdk:"user_data"`
	NodeLabels               types.Map     `tfsdk:"node_labels"`
	NodeTaints               types.List    `tfsdk:"node_taints"`
	EngineInstallURL         types.String  `tfsdk:"engine_install_url"`
	EngineRegistryMirrors    types.Set     `tfsdk:"engine_registry_mirrors"`
	EngineInsecureRegistries types.Set     `tfsdk:"engine_insecure_registries"`
	EngineLabels             types.Map     `tfsdk:"engine_labels"`
	EngineOptions            types.Map     `tfsdk:"engine_options"`
	EngineEnv                types.Map     `tfsdk:"engine_env"`
	EngineStorageDriver      types.String  `tfsdk:"engine_storage_driver"`
}

// credential decodes the credential object; ok is false while it is unknown.
func (m templateModel) credential(ctx context.Context) (c credentialModel, ok bool, diags diag.Diagnostics) {
	if m.CloudCredential.IsNull() || m.CloudCredential.IsUnknown() {
		return c, false, nil
	}
	diags = m.CloudCredential.As(ctx, &c, basetypes.ObjectAsOptions{})
	return c, !diags.HasError(), diags
}

// region is the template's region, or the credential's when the template has none.
func (m templateModel) region(ctx context.Context) types.String {
	if !m.Region.IsNull() {
		return m.Region
	}
	c, ok, _ := m.credential(ctx)
	if !ok {
		return types.StringUnknown()
	}
	return c.Region
}

func (r *templateResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_node_template"
}

func (r *templateResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

// ValidateConfig checks what needs several attributes at once, as soon as they are known.
func (r *templateResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m templateModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	known := func(vs ...attrValue) bool {
		for _, v := range vs {
			if v.IsUnknown() {
				return false
			}
		}
		return true
	}
	add := func(attr string, err error) {
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root(attr), "Invalid "+attr, err.Error())
		}
	}
	if known(m.RequestSpotInstance, m.SpotPrice) {
		add("spot_price", provisioning.CheckSpot(m.RequestSpotInstance.ValueBool(), m.SpotPrice.ValueFloat64()))
	}
	if known(m.PrivateAddressOnly, m.UsePrivateAddress) && !m.UsePrivateAddress.IsNull() {
		add("use_private_address", provisioning.CheckPrivateAddress(m.PrivateAddressOnly.ValueBool(), m.UsePrivateAddress.ValueBool()))
	}
	if known(m.Encrypted, m.KMSKeyID) && !m.Encrypted.IsNull() {
		add("kms_key_id", provisioning.CheckEncryption(m.Encrypted.ValueBool(), m.KMSKeyID.ValueString()))
	}
	if known(m.SSHCIDRBlocks, m.OpenPorts) {
		var cidrs, ports []string
		resp.Diagnostics.Append(m.SSHCIDRBlocks.ElementsAs(ctx, &cidrs, false)...)
		resp.Diagnostics.Append(m.OpenPorts.ElementsAs(ctx, &ports, false)...)
		if w := provisioning.RuleQuotaWarning(cidrs, ports); w != "" {
			resp.Diagnostics.AddAttributeWarning(path.Root("ssh_cidr_blocks"), "Close to the security group rule quota", w)
		}
	}
	if region := m.region(ctx); known(region, m.Zone) && !region.IsNull() && !m.Zone.IsNull() &&
		provisioning.ValidateZone(m.Zone.ValueString()) == nil {
		add("zone", provisioning.CheckZoneInRegion(region.ValueString(), m.Zone.ValueString()))
	}
}

type attrValue interface{ IsUnknown() bool }

// ModifyPlan fills in what can be known before apply (region, zone name, use_private_address)
// and keeps what the provider resolved earlier (VPC, subnet, AMI) while its inputs are unchanged,
// so a credential-only change or a tag edit plans no new network or image.
func (r *templateResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan, config templateModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if config.Region.IsNull() {
		plan.Region = config.region(ctx)
	}
	if !plan.Region.IsUnknown() && !plan.Zone.IsUnknown() {
		plan.AvailabilityZone = types.StringValue(provisioning.AvailabilityZone(plan.Region.ValueString(), plan.Zone.ValueString()))
	} else {
		plan.AvailabilityZone = types.StringUnknown()
	}
	if config.UsePrivateAddress.IsNull() {
		plan.UsePrivateAddress = plan.PrivateAddressOnly
	}

	if !req.State.Raw.IsNull() {
		var state templateModel
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		if resp.Diagnostics.HasError() {
			return
		}
		planCred, _, _ := plan.credential(ctx)
		stateCred, _, _ := state.credential(ctx)
		sameAccount := planCred.AccountID.Equal(stateCred.AccountID) && !planCred.AccountID.IsUnknown()
		sameRegion := plan.Region.Equal(state.Region)
		if config.VPCID.IsNull() && sameRegion && sameAccount {
			plan.VPCID = state.VPCID
		}
		if config.SubnetID.IsNull() && plan.VPCID.Equal(state.VPCID) && plan.AvailabilityZone.Equal(state.AvailabilityZone) {
			plan.SubnetID = state.SubnetID
		}
		sameImageInputs := sameRegion && plan.InstanceType.Equal(state.InstanceType)
		switch {
		case config.AMI.IsNull() && sameImageInputs:
			plan.AMI, plan.Architecture = state.AMI, state.Architecture
		case plan.AMI.Equal(state.AMI) && sameImageInputs:
			plan.Architecture = state.Architecture
		default:
			plan.Architecture = types.StringUnknown()
		}
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

func (r *templateResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan templateModel
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

func (r *templateResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state templateModel
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
func (r *templateResource) resolve(ctx context.Context, m *templateModel, keepAMI string, diags *diag.Diagnostics) {
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
func (r *templateResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m templateModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if m.Name.IsNull() { // just imported: the ID is the name
		m.Name = m.ID
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *templateResource) Delete(context.Context, resource.DeleteRequest, *resource.DeleteResponse) {
	// NO-OP: nothing exists on AWS; removing it from state is all there is.
}

func (r *templateResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if err := provisioning.ValidateName(req.ID); err != nil {
		resp.Diagnostics.AddError("Invalid import ID", "Import a node template by its name: "+err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), req.ID)...)
}
