package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/awsclient"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/provisioning"
)

var (
	_ provider.Provider                   = (*ec2k8sProvider)(nil)
	_ provider.ProviderWithValidateConfig = (*ec2k8sProvider)(nil)
)

// New returns a constructor for the provider at the given version.
func New(version string) func() provider.Provider {
	return func() provider.Provider { return &ec2k8sProvider{version: version} }
}

type ec2k8sProvider struct {
	version string
}

type providerModel struct {
	Endpoints  *endpointsModel `tfsdk:"endpoints"`
	MaxRetries types.Int64     `tfsdk:"max_retries"`
}

type endpointsModel struct {
	EC2 types.String `tfsdk:"ec2"`
	STS types.String `tfsdk:"sts"`
	IAM types.String `tfsdk:"iam"`
}

// providerData is what Configure hands to resources and data sources.
type providerData struct {
	aws awsclient.Settings
	// servers follows the server pools of this run, so joining pools stop waiting when all fail.
	servers *provisioning.Servers
}

func (p *ec2k8sProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "ec2k8s"
	resp.Version = p.version
}

func (p *ec2k8sProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	endpoint := func(service, env string) schema.StringAttribute {
		return schema.StringAttribute{
			Optional: true,
			MarkdownDescription: fmt.Sprintf("Custom %s endpoint URL, such as a VPC endpoint or a local emulator. "+
				"When unset, `%s` or `AWS_ENDPOINT_URL` is used, else AWS's own.", service, env),
		}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Creates Kubernetes clusters on Amazon EC2 with node pools, the way Rancher's EC2 " +
			"node driver does, with no management server. Credentials are not configured here: each " +
			"`ec2k8s_cloud_credential` carries its own.",
		Attributes: map[string]schema.Attribute{
			"max_retries": schema.Int64Attribute{
				Optional: true,
				MarkdownDescription: fmt.Sprintf("How often a throttled or failed AWS call is retried, with capped "+
					"exponential backoff. Defaults to %d; 0 to 100.", awsclient.DefaultMaxRetries),
			},
		},
		Blocks: map[string]schema.Block{
			"endpoints": schema.SingleNestedBlock{
				MarkdownDescription: "Custom service endpoints. The SDK's `AWS_ENDPOINT_URL` and " +
					"`AWS_ENDPOINT_URL_<SERVICE>` environment variables are honoured too; a value here wins.",
				Attributes: map[string]schema.Attribute{
					"ec2": endpoint("EC2", "AWS_ENDPOINT_URL_EC2"),
					"sts": endpoint("STS", "AWS_ENDPOINT_URL_STS"),
					"iam": endpoint("IAM", "AWS_ENDPOINT_URL_IAM"),
				},
			},
		},
	}
}

func (p *ec2k8sProvider) ValidateConfig(ctx context.Context, req provider.ValidateConfigRequest, resp *provider.ValidateConfigResponse) {
	var cfg providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !cfg.MaxRetries.IsNull() && !cfg.MaxRetries.IsUnknown() {
		if n := cfg.MaxRetries.ValueInt64(); n < 0 || n > 100 {
			resp.Diagnostics.AddAttributeError(path.Root("max_retries"), "Invalid max_retries",
				fmt.Sprintf("max_retries is %d; give a number from 0 to 100 (the default is %d).", n, awsclient.DefaultMaxRetries))
		}
	}
	if cfg.Endpoints == nil {
		return
	}
	for name, v := range cfg.Endpoints.byName() {
		if v.IsNull() || v.IsUnknown() {
			continue
		}
		if err := awsclient.ValidateEndpoint(v.ValueString()); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("endpoints").AtName(name), "Invalid endpoint", "endpoints."+name+": "+err.Error())
		}
	}
}

func (e *endpointsModel) byName() map[string]types.String {
	return map[string]types.String{"ec2": e.EC2, "sts": e.STS, "iam": e.IAM}
}

func (p *ec2k8sProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var cfg providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	settings := awsclient.Settings{MaxRetries: awsclient.DefaultMaxRetries, AppID: "terraform-provider-ec2k8s/" + p.version}
	if cfg.MaxRetries.IsUnknown() {
		resp.Diagnostics.AddAttributeError(path.Root("max_retries"), "Unknown max_retries",
			"max_retries depends on a value known only after apply; the provider needs it now. Use a constant or a variable.")
	} else if !cfg.MaxRetries.IsNull() {
		settings.MaxRetries = int(cfg.MaxRetries.ValueInt64())
	}
	if cfg.Endpoints != nil {
		for name, v := range cfg.Endpoints.byName() {
			if v.IsUnknown() {
				resp.Diagnostics.AddAttributeError(path.Root("endpoints").AtName(name), "Unknown endpoint",
					"endpoints."+name+" depends on a value known only after apply; the provider needs it now. Use a constant or a variable.")
			}
		}
		settings.Endpoints = awsclient.Endpoints{
			EC2: cfg.Endpoints.EC2.ValueString(),
			STS: cfg.Endpoints.STS.ValueString(),
			IAM: cfg.Endpoints.IAM.ValueString(),
		}
	}
	if resp.Diagnostics.HasError() {
		return
	}
	// NO-OP on the network: clients are made, and credentials checked, by what uses them.
	tflog.Info(ctx, "configured ec2k8s provider", map[string]any{
		"max_retries":  settings.MaxRetries,
		"ec2_endpoint": settings.Endpoints.EC2,
		"sts_endpoint": settings.Endpoints.STS,
		"iam_endpoint": settings.Endpoints.IAM,
	})
	data := &providerData{aws: settings, servers: provisioning.NewServers()}
	resp.DataSourceData = data
	resp.ResourceData = data
}

func (p *ec2k8sProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		newCloudCredentialResource,
		newNodeTemplateResource,
		newClusterResource,
		newNodePoolResource,
		newClusterSyncResource,
	}
}

func (p *ec2k8sProvider) DataSources(context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		newIAMPolicyDataSource,
		newNodeIAMPolicyDataSource,
		newCallerIdentityDataSource,
	}
}
