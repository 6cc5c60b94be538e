package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/provisioning"
)

// ValidateConfig checks what needs several attributes at once, as soon as they are known.
func (r *nodeTemplateResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m nodeTemplateModel
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

// attrValue is any attribute value, as ValidateConfig asks whether it is known.
type attrValue interface{ IsUnknown() bool }

// ModifyPlan fills in what can be known before apply (region, zone name, use_private_address)
// and keeps what the provider resolved earlier (VPC, subnet, AMI) while its inputs are unchanged,
// so a credential-only change or a tag edit plans no new network or image.
func (r *nodeTemplateResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan, config nodeTemplateModel
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
		var state nodeTemplateModel
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
