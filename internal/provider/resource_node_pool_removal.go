package provider

import (
	"context"
	"crypto/rand"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/bootstrap"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/kubeapi"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/provisioning"
)

// clusterAPI is a client of the cluster's API as the provider's own admin (a certificate from
// the cluster's client CA that lives a day and is never stored), when the cluster says where its
// API is (api_server_url, else registration_address) and it answers /readyz now; else nil.
func clusterAPI(ctx context.Context, c clusterModel) *kubeapi.Client {
	url := c.configuredAPIURL()
	if url == "" || c.Secrets.IsNull() || c.Secrets.IsUnknown() || c.Secrets.ValueString() == "" {
		return nil
	}
	pki, err := bootstrap.DecodePKI(c.Secrets.ValueString())
	if err != nil {
		return nil
	}
	cert, err := pki.IssueClientCertValid(rand.Reader, time.Now(), 24*time.Hour, bootstrap.AdminUser, bootstrap.AdminGroup)
	if err != nil {
		return nil
	}
	api, err := kubeapi.New(kubeapi.Access{URL: url, CA: pki.ServerCABundle(), Cert: cert.Cert, Key: cert.Key})
	if err != nil {
		return nil
	}
	probe, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if s := api.Check(probe, nil); !s.APIReady {
		tflog.Info(ctx, "the cluster's API is not reachable: nodes leave without being drained", map[string]any{"url": url, "why": s.Why()})
		return nil
	}
	api.Progress = func(msg string, fields map[string]any) { tflog.Info(ctx, msg, fields) }
	return api
}

// apiRemover takes nodes out of the cluster through its API (kubeapi) before their instances go;
// after, it deletes their Node objects.
type apiRemover struct {
	api          *kubeapi.Client
	distribution string
}

var _ provisioning.Remover = apiRemover{}

func (r apiRemover) Prepare(ctx context.Context, n provisioning.Node, etcd bool) error {
	return r.api.TakeOut(ctx, n.Hostname, r.distribution, etcd)
}

func (r apiRemover) Forget(ctx context.Context, n provisioning.Node) error {
	return r.api.DeleteNode(ctx, n.Hostname)
}
