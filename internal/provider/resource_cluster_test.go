package provider

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/acctest"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/bootstrap"
)

const clusterAddr = "ec2k8s_cluster.demo"

func clusterOnly(m *acctest.Moto, attrs string) string {
	return acctest.ProviderConfig(m) + acctest.CredentialConfig("aws", "us-west-2", acctest.AccessKey, acctest.SecretKey) + `
resource "ec2k8s_cluster" "demo" {
  name             = "demo"
  cloud_credential = ec2k8s_cloud_credential.aws
` + attrs + `
}
`
}

func TestAccCluster_lifecycle(t *testing.T) {
	moto := acctest.SharedMoto(t)
	known := func(attr, want string) statecheck.StateCheck {
		return statecheck.ExpectKnownValue(clusterAddr, tfjsonpath.New(attr), knownvalue.StringExact(want))
	}
	empty := resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}
	// Import by name with an import block. The settings come from the configuration, so the plan
	// updates in place, replacing nothing; the CA set and tokens were made at creation and live
	// only in the state that made them, so none is planned. The step before it failed, so it
	// names the configuration to import into.
	imported := importBlockStep(clusterAddr, "demo",
		plancheck.ExpectKnownValue(clusterAddr, tfjsonpath.New("id"), knownvalue.StringExact("demo")),
		plancheck.ExpectKnownValue(clusterAddr, tfjsonpath.New("name"), knownvalue.StringExact("demo")),
		plancheck.ExpectKnownValue(clusterAddr, tfjsonpath.New("kubernetes_version"), knownvalue.StringExact("v1.33.6+rke2r1")),
		plancheck.ExpectKnownValue(clusterAddr, tfjsonpath.New("secrets"), knownvalue.Null()),
		plancheck.ExpectKnownValue(clusterAddr, tfjsonpath.New("cluster_ca_certificate"), knownvalue.Null()))
	imported.Config = clusterOnly(moto, `kubernetes_version = "v1.33.6+rke2r1"`)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             acctest.CheckNothingCreated(moto, "us-west-2"),
		Steps: []resource.TestStep{
			{
				Config: clusterOnly(moto, `members = [{ name = "alice", role = "cluster-owner" }]`),
				ConfigStateChecks: []statecheck.StateCheck{
					known("id", "demo"), known("distribution", "rke2"), known("kubernetes_version", "v1.33.5+rke2r1"),
					known("network_plugin", "canal"), known("cloud_provider", "none"), known("state", "provisioning"),
					statecheck.ExpectKnownValue(clusterAddr, tfjsonpath.New("members").AtSliceIndex(0).AtMapKey("role"), knownvalue.StringExact("cluster-owner")),
					known("install_script_url", "https://get.rke2.io"), known("cluster_cidr", "10.42.0.0/16"), known("service_cidr", "10.43.0.0/16"),
					known("cluster_dns", "10.43.0.10"), known("container_runtime", "containerd"),
					statecheck.ExpectKnownValue(clusterAddr, tfjsonpath.New("etcd_snapshot").AtMapKey("schedule_cron"), knownvalue.StringExact("0 */12 * * *")),
					statecheck.CompareValuePairs(clusterAddr, tfjsonpath.New("secrets"), clusterAddr, tfjsonpath.New("cluster_ca_certificate"), clusterPKIComparer{}),
				},
				ConfigPlanChecks: empty,
			},
			{
				// Pinning the version the default gave is no change; a patch upgrade is an update.
				Config: clusterOnly(moto, `kubernetes_version = "v1.33.6+rke2r1"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(clusterAddr, plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{known("kubernetes_version", "v1.33.6+rke2r1")},
			},
			{
				Config:      clusterOnly(moto, `kubernetes_version = "v1.32.1+rke2r1"`),
				ExpectError: acctest.ErrorRe(`v1.33.6+rke2r1 to v1.32.1+rke2r1 is a downgrade`),
			},
			{
				Config:      clusterOnly(moto, "kubernetes_version = \"v1.33.6+rke2r1\"\nnetwork_plugin = \"cilium\""),
				ExpectError: acctest.ErrorRe(`the network plugin cannot change after the first boot`),
			},
			{
				Config:      clusterOnly(moto, "distribution = \"k3s\"\nkubernetes_version = \"v1.33.5+k3s1\"\nnetwork_plugin = \"canal\""),
				ExpectError: acctest.ErrorRe(`k3s runs flannel or none, not canal: canal ships with rke2, so use distribution = "rke2"`),
			},
			{
				Config:      clusterOnly(moto, "distribution = \"k3s\"\nkubernetes_version = \"v1.33.5+k3s1\"\nnetwork_plugin = \"flannel\""),
				ExpectError: acctest.ErrorRe(`a running cluster cannot move to k3s`),
			},
			{
				Config:      clusterOnly(moto, "kubernetes_version = \"v1.33.6+rke2r1\"\ncluster_cidr = \"10.100.0.0/16\""),
				ExpectError: acctest.ErrorRe(`was created with cluster_cidr = 10.42.0.0/16, and every server must have the same pod network`),
			},
			imported,
		},
	})
}

// clusterPKIComparer compares a cluster's secrets with its cluster_ca_certificate: the secrets
// hold a CA set whose server bundle (CA, intermediate, root) is the certificate, and tokens that
// carry the root CA's hash.
type clusterPKIComparer struct{}

func (clusterPKIComparer) CompareValues(values ...any) error {
	if len(values) != 2 {
		return fmt.Errorf("want secrets and cluster_ca_certificate, got %d values", len(values))
	}
	secrets, _ := values[0].(string)
	bundle, _ := values[1].(string)
	p, err := bootstrap.DecodePKI(secrets)
	if err != nil {
		return err
	}
	if bundle != p.ServerCABundle() || strings.Count(bundle, "BEGIN CERTIFICATE") != 3 {
		return fmt.Errorf("cluster_ca_certificate is not the server CA bundle (CA, intermediate, root)")
	}
	hash, err := p.CAHash()
	if err != nil {
		return err
	}
	if !strings.HasPrefix(p.ServerToken, "K10"+hash+"::server:") || !strings.HasPrefix(p.AgentToken, "K10"+hash+"::node:") {
		return fmt.Errorf("the tokens do not carry the root CA's hash %s", hash)
	}
	return nil
}

func TestAccCluster_planErrors(t *testing.T) {
	moto := acctest.SharedMoto(t)
	for name, tc := range map[string]struct{ attrs, want string }{
		"name":              {"", ""},
		"version shape":     {`kubernetes_version = "1.31"`, `"1.31" is not a rke2 version`},
		"k3s version":       {`kubernetes_version = "v1.31.4+k3s1"`, `is not a rke2 version`},
		"old version":       {`kubernetes_version = "v1.20.4+rke2r1"`, `Kubernetes 1.20 is not supported`},
		"policy on flannel": {"network_plugin = \"flannel\"\nenable_network_policy = true", `does not enforce NetworkPolicy`},
		"member role":       {`members = [{ name = "bob", role = "admin" }]`, `"admin" is not a supported member role`},
		"system member":     {`members = [{ name = "system:kube-scheduler", role = "read-only" }]`, `names starting with system: are Kubernetes`},
		"member twice":      {`members = [{ name = "bob", role = "read-only" }, { name = "bob", role = "cluster-owner" }]`, `"bob" is listed twice`},
		"cloud provider":    {`cloud_provider = "gce"`, `"gce" is not a supported cloud provider`},
		"docker on rke2":    {`container_runtime = "docker"`, `rke2 has no docker runtime`},
		"install env":       {`install_env = { INSTALL_K3S_CHANNEL = "stable" }`, `"INSTALL_K3S_CHANNEL" is not a variable of the rke2 install script`},
		"install version":   {`install_env = { INSTALL_RKE2_VERSION = "v1.30.1+rke2r1" }`, `INSTALL_RKE2_VERSION is set by the provider`},
		"dns outside":       {`cluster_dns = "10.42.0.10"`, `cluster_dns 10.42.0.10 is not in service_cidr 10.43.0.0/16`},
		"overlap":           {`service_cidr = "10.42.128.0/17"` + "\n" + `cluster_dns = "10.42.128.10"`, `cluster_cidr 10.42.0.0/16 and service_cidr 10.42.128.0/17 overlap`},
		"cidr host bits":    {`cluster_cidr = "10.42.0.1/16"`, `is not a network address`},
		"folder no bucket":  {`etcd_snapshot = { s3_folder = "etcd" }`, `set s3_bucket too`},
		"bad cron":          {`etcd_snapshot = { schedule_cron = "every day" }`, `is not a cron schedule`},
		"registration url":  {`registration_address = "https://k8s.example.com"`, `without https:// or a port`},
	} {
		if tc.want == "" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			testAccRun(t, []resource.TestStep{planErrorStep(clusterOnly(moto, tc.attrs), tc.want)})
		})
	}
	t.Run("cluster name", func(t *testing.T) {
		testAccRun(t, []resource.TestStep{planErrorStep(acctest.ProviderConfig(moto)+
			acctest.CredentialConfig("aws", "us-west-2", acctest.AccessKey, acctest.SecretKey)+`resource "ec2k8s_cluster" "bad" {
  name             = "Demo_Cluster"
  cloud_credential = ec2k8s_cloud_credential.aws
}`, `"Demo_Cluster" is not a cluster name`)})
	})
}

// TestConfiguredAPIURL: the API's URL as the cluster says it: api_server_url (without a
// trailing slash), else registration_address on 6443 (bracketed when IPv6), else none.
func TestConfiguredAPIURL(t *testing.T) {
	for _, tc := range []struct {
		apiServerURL, registration types.String
		want                       string
	}{
		{types.StringValue("https://k8s.example.com:6443/"), types.StringValue("10.0.0.5"), "https://k8s.example.com:6443"},
		{types.StringNull(), types.StringValue("10.0.0.5"), "https://10.0.0.5:6443"},
		{types.StringNull(), types.StringValue("fd00::5"), "https://[fd00::5]:6443"},
		{types.StringNull(), types.StringValue("k8s.internal"), "https://k8s.internal:6443"},
		{types.StringNull(), types.StringNull(), ""},
	} {
		c := clusterModel{APIServerURL: tc.apiServerURL, RegistrationAddress: tc.registration}
		if got := c.configuredAPIURL(); got != tc.want {
			t.Errorf("api_server_url %s, registration_address %s: %q; want %q", tc.apiServerURL, tc.registration, got, tc.want)
		}
	}
}

// TestClusterSchemaChecks: the checks the cluster's schema names for single attributes.
func TestClusterSchemaChecks(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string // "" for valid
	}{
		{"member", validMemberName("alice"), ""},
		{"member with a dot", validMemberName("alice.smith@example.com"), ""},
		{"empty member", validMemberName(""), "is not a user name"},
		{"member with a space", validMemberName("alice smith"), "is not a user name"},
		{"member with a slash", validMemberName("ops/alice"), "is not a user name"},
		{"long member", validMemberName(strings.Repeat("a", 129)), "is not a user name"},
		{"Kubernetes identity", validMemberName("system:kube-proxy"), "names starting with system: are Kubernetes' own identities"},
		{"the provider's admin", validMemberName(bootstrap.AdminUser), "is the provider's admin"},
		{"retention", validRetention(1), ""},
		{"most retention", validRetention(1000), ""},
		{"no retention", validRetention(0), "keep 1 to 1000"},
		{"too much retention", validRetention(1001), "keep 1 to 1000"},
		{"one of", oneOf("docker", []string{"containerd", "docker"}), ""},
		{"none of", oneOf("crio", []string{"containerd", "docker"}), `"crio": use one of containerd, docker`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if (tc.err == nil) != (tc.want == "") || tc.err != nil && !strings.Contains(tc.err.Error(), tc.want) {
				t.Errorf("error %v; want %q", tc.err, tc.want)
			}
		})
	}
}
