package provider

import (
	"context"
	"fmt"
	"slices"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/bootstrap"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/provisioning"
)

// fillDerived sets what follows from the pool's inputs, as far as they are known: region, ID,
// key pair name, default hostname prefix (when unknown), and spec, which stays unknown while
// any input of it is; unknown names those inputs.
func (m *nodePoolModel) fillDerived(ctx context.Context) (spec provisioning.NodeSpec, unknown []string, diags diag.Diagnostics) {
	tmpl, tmplOK, d := m.template(ctx)
	diags.Append(d...)
	cl, clOK, d := m.cluster(ctx)
	diags.Append(d...)
	if tmplOK && !tmpl.Region.IsUnknown() {
		m.Region = tmpl.Region
	}
	m.KeyPairName = types.StringUnknown()
	if clOK && !cl.Name.IsUnknown() && !m.Name.IsUnknown() {
		cluster, name := cl.Name.ValueString(), m.Name.ValueString()
		if m.HostnamePrefix.IsUnknown() {
			m.HostnamePrefix = types.StringValue(cluster + "-" + name + "-")
		}
		if !m.Region.IsUnknown() && !m.Region.IsNull() {
			m.ID = types.StringValue(poolID(m.Region.ValueString(), cluster, name))
		}
		switch {
		case !tmplOK || tmpl.SSHPublicKey.IsUnknown():
		case tmpl.SSHPublicKey.IsNull():
			m.KeyPairName = types.StringNull()
		default:
			m.KeyPairName = types.StringValue(provisioning.KeyPairName(cluster, name))
		}
	}
	m.Spec = types.StringUnknown()
	switch {
	case !tmplOK:
		return spec, []string{"node_template"}, diags
	case !clOK:
		return spec, []string{"cluster"}, diags
	}
	spec, unknown, d = nodeSpec(ctx, *m, tmpl, cl)
	diags.Append(d...)
	if len(unknown) > 0 || diags.HasError() {
		return spec, unknown, diags
	}
	hash, err := spec.Hash()
	if err != nil {
		diags.AddError("Cannot hash node spec", err.Error())
		return spec, unknown, diags
	}
	m.Spec = types.StringValue(hash)
	return spec, nil, diags
}

// specReader converts attribute values to plain Go and records every value that is not known
// yet, so that a pool's spec is known exactly when all the values it is made of are: the same
// code decides what is hashed and what must be known, and nothing is listed by hand.
type specReader struct {
	ctx     context.Context
	unknown []string
	diags   diag.Diagnostics
}

// known reports whether v is fully known: a list with one unknown element is not.
func (r *specReader) known(name string, v attr.Value) bool {
	tv, err := v.ToTerraformValue(r.ctx)
	if err != nil {
		r.diags.AddError("Cannot read "+name, err.Error())
		return false
	}
	if !tv.IsFullyKnown() {
		r.unknown = append(r.unknown, name)
		return false
	}
	return true
}

func (r *specReader) str(name string, v types.String) string {
	if !r.known(name, v) {
		return ""
	}
	return v.ValueString()
}

func (r *specReader) boolean(name string, v types.Bool) bool {
	return r.known(name, v) && v.ValueBool()
}

func (r *specReader) int64(name string, v types.Int64) int64 {
	if !r.known(name, v) {
		return 0
	}
	return v.ValueInt64()
}

func (r *specReader) float64(name string, v types.Float64) float64 {
	if !r.known(name, v) {
		return 0
	}
	return v.ValueFloat64()
}

// strings reads a set or list of strings; a set comes out sorted.
func (r *specReader) strings(name string, v attr.Value) []string {
	if !r.known(name, v) {
		return nil
	}
	var out []string
	switch v := v.(type) {
	case types.Set:
		r.diags.Append(v.ElementsAs(r.ctx, &out, false)...)
		slices.Sort(out)
	case types.List:
		r.diags.Append(v.ElementsAs(r.ctx, &out, false)...)
	}
	return out
}

func (r *specReader) dict(name string, v types.Map) map[string]string {
	if !r.known(name, v) || v.IsNull() {
		return nil
	}
	out := map[string]string{}
	r.diags.Append(v.ElementsAs(r.ctx, &out, false)...)
	return out
}

// taints reads node_taints as Kubernetes writes them: key=value:Effect, or key:Effect.
func (r *specReader) taints(name string, v types.List) []string {
	if !r.known(name, v) || v.IsNull() {
		return nil
	}
	var taints []struct {
		Key    types.String `tfsdk:"key"`
		Value  types.String `tfsdk:"value"`
		Effect types.String `tfsdk:"effect"`
	}
	r.diags.Append(v.ElementsAs(r.ctx, &taints, false)...)
	out := make([]string, 0, len(taints))
	for _, t := range taints {
		s := t.Key.ValueString()
		if t.Value.ValueString() != "" {
			s += "=" + t.Value.ValueString()
		}
		out = append(out, s+":"+t.Effect.ValueString())
	}
	return out
}

// nodeSpec converts what the pool's nodes are launched and booted with; unknown names every
// input that is not known yet (then the spec cannot be hashed before apply). What acts on the
// security group (ssh_cidr_blocks, open_ports, security_group_readonly), the SSH key, the
// credential and the cluster's members need no new machine and are not read here.
func nodeSpec(ctx context.Context, p nodePoolModel, t nodeTemplateModel, c clusterModel) (spec provisioning.NodeSpec, unknown []string, diags diag.Diagnostics) {
	r := &specReader{ctx: ctx}
	tn := func(attr string) string { return "node_template." + attr }
	cn := func(attr string) string { return "cluster." + attr }
	spec.Launch = provisioning.LaunchSpec{
		Region:             r.str(tn("region"), t.Region),
		AvailabilityZone:   r.str(tn("availability_zone"), t.AvailabilityZone),
		VPCID:              r.str(tn("vpc_id"), t.VPCID),
		SubnetID:           r.str(tn("subnet_id"), t.SubnetID),
		SecurityGroups:     r.strings(tn("security_groups"), t.SecurityGroups),
		AMI:                r.str(tn("ami"), t.AMI),
		InstanceType:       r.str(tn("instance_type"), t.InstanceType),
		RootSize:           r.int64(tn("root_size"), t.RootSize),
		VolumeType:         r.str(tn("volume_type"), t.VolumeType),
		Encrypted:          r.boolean(tn("encrypted"), t.Encrypted),
		KMSKeyID:           r.str(tn("kms_key_id"), t.KMSKeyID),
		IAMInstanceProfile: r.str(tn("iam_instance_profile"), t.IAMInstanceProfile),
		PrivateAddressOnly: r.boolean(tn("private_address_only"), t.PrivateAddressOnly),
		SpotInstance:       r.boolean(tn("request_spot_instance"), t.RequestSpotInstance),
		SpotPrice:          r.float64(tn("spot_price"), t.SpotPrice),
		Monitoring:         r.boolean(tn("monitoring"), t.Monitoring),
		EBSOptimized:       r.boolean(tn("ebs_optimized"), t.EBSOptimized),
		HTTPTokens:         r.str(tn("http_tokens"), t.HTTPTokens),
		HopLimit:           r.int64(tn("http_put_response_hop_limit"), t.HTTPPutResponseHopLimit),
		Tags:               r.dict(tn("tags"), t.Tags),
	}
	roles := p.roles()
	spec.Boot = bootstrap.Node{
		Cluster:           r.str(cn("name"), c.Name),
		Distribution:      r.str(cn("distribution"), c.Distribution),
		KubernetesVersion: r.str(cn("kubernetes_version"), c.KubernetesVersion),
		CloudProvider:     r.str(cn("cloud_provider"), c.CloudProvider),
		ContainerRuntime:  r.str(cn("container_runtime"), c.ContainerRuntime),
		InstallScriptURL:  r.str(cn("install_script_url"), c.InstallScriptURL),
		InstallEnv:        r.dict(cn("install_env"), c.InstallEnv),
		Pool:              r.str("name", p.Name),
		HostnamePrefix:    r.str("hostname_prefix", p.HostnamePrefix),
		Roles:             roles.List(),
		Labels:            r.dict(tn("node_labels"), t.NodeLabels),
		Taints:            r.taints(tn("node_taints"), t.NodeTaints),
		ExtraUserData:     r.str(tn("user_data"), t.UserData),
		Engine: bootstrap.Engine{
			InstallURL:         r.str(tn("engine_install_url"), t.EngineInstallURL),
			RegistryMirrors:    r.strings(tn("engine_registry_mirrors"), t.EngineRegistryMirrors),
			InsecureRegistries: r.strings(tn("engine_insecure_registries"), t.EngineInsecureRegistries),
			Labels:             r.dict(tn("engine_labels"), t.EngineLabels),
			Options:            r.dict(tn("engine_options"), t.EngineOptions),
			Env:                r.dict(tn("engine_env"), t.EngineEnv),
			StorageDriver:      r.str(tn("engine_storage_driver"), t.EngineStorageDriver),
		},
	}
	// What only servers use is read only for servers, so that an agent pool's spec neither
	// changes nor waits for it (bootstrap.Node.ForSpec).
	if roles.Etcd || roles.ControlPlane {
		spec.Boot.NetworkPlugin = r.str(cn("network_plugin"), c.NetworkPlugin)
		spec.Boot.ClusterCIDR = r.str(cn("cluster_cidr"), c.ClusterCIDR)
		spec.Boot.ServiceCIDR = r.str(cn("service_cidr"), c.ServiceCIDR)
		spec.Boot.ClusterDNS = r.str(cn("cluster_dns"), c.ClusterDNS)
	}
	if roles.Etcd || roles.ControlPlane || spec.Boot.Distribution == "rke2" {
		spec.Boot.SystemDefaultRegistry = r.str(cn("system_default_registry"), c.SystemDefaultRegistry)
	}
	if roles.Etcd && r.known(cn("etcd_snapshot"), c.EtcdSnapshot) && !c.EtcdSnapshot.IsNull() {
		var snap etcdSnapshotModel
		r.diags.Append(c.EtcdSnapshot.As(ctx, &snap, basetypes.ObjectAsOptions{})...)
		spec.Boot.EtcdSnapshot = &bootstrap.EtcdSnapshot{ScheduleCron: snap.ScheduleCron.ValueString(), Retention: snap.Retention.ValueInt64(),
			S3Bucket: snap.S3Bucket.ValueString(), S3Folder: snap.S3Folder.ValueString(), S3Region: snap.S3Region.ValueString(), S3Endpoint: snap.S3Endpoint.ValueString()}
	}
	spec.Boot = spec.Boot.ForSpec()
	for _, role := range []types.Bool{p.Etcd, p.ControlPlane, p.Worker} {
		r.known("roles", role)
	}
	return spec, r.unknown, r.diags
}

// groupSettings is what the pool does to the managed security group.
func groupSettings(ctx context.Context, t nodeTemplateModel) (provisioning.GroupSettings, diag.Diagnostics) {
	r := &specReader{ctx: ctx}
	g := provisioning.GroupSettings{
		Readonly:      r.boolean("security_group_readonly", t.SecurityGroupReadonly),
		OpenPorts:     r.strings("open_ports", t.OpenPorts),
		SSHCIDRBlocks: r.strings("ssh_cidr_blocks", t.SSHCIDRBlocks),
	}
	if len(r.unknown) > 0 {
		r.diags.AddError("Node template values unknown at apply", fmt.Sprintf("%v are still unknown while applying the pool. This is a bug in the provider; please report it.", r.unknown))
	}
	return g, r.diags
}

// domainPool builds the provisioning client's Pool from a fully known plan and its spec, which
// fillDerived made from that plan with nothing unknown.
func domainPool(ctx context.Context, p nodePoolModel, spec provisioning.NodeSpec) (provisioning.Pool, diag.Diagnostics) {
	t, _, diags := p.template(ctx)
	c, _, d := p.cluster(ctx)
	diags.Append(d...)
	groups, d := groupSettings(ctx, t)
	diags.Append(d...)
	var pki *bootstrap.PKI
	if !c.Secrets.IsNull() && !c.Secrets.IsUnknown() {
		var err error
		if pki, err = bootstrap.DecodePKI(c.Secrets.ValueString()); err != nil {
			diags.AddError("Cannot read the cluster's CA set", err.Error())
		}
	}
	return provisioning.Pool{
		Cluster: c.Name.ValueString(), Name: p.Name.ValueString(), HostnamePrefix: p.HostnamePrefix.ValueString(),
		Quantity: int(p.Quantity.ValueInt64()), Roles: p.roles(), Spec: spec, Groups: groups,
		PublicKey: t.SSHPublicKey.ValueString(), NextIndex: int(p.NextIndex.ValueInt64()),
		PKI: pki, RegistrationAddress: c.RegistrationAddress.ValueString(),
	}, diags
}
