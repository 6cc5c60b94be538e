package bootstrap_test

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/cryptotest"
	"time"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/bootstrap"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/provisioning"
)

// TestUserData_worstCaseBudget renders the largest user data the validators let through (issue
// 8, point 8: under EC2's 16 KiB, gzip-compressed when needed): the node that starts the cluster
// (a real PKI: every CA certificate and key) with the etcd and control-plane roles (so the
// aws-cloud-controller-manager manifest too, and both default taints on RKE2), the longest
// cluster name, pool name, hostname prefix and registration address, and the most extra user
// data the template takes (provisioning.MaxExtraUserData), made of random bytes gzip cannot
// shrink, as a cloud-config and as a script. It is in package bootstrap_test to use
// provisioning's limit and validator (provisioning imports bootstrap).
func TestUserData_worstCaseBudget(t *testing.T) {
	cluster := strings.Repeat("c", 40)
	// 253 characters, the most a DNS name has: three labels of 63 and one of 61.
	address := strings.Join([]string{strings.Repeat("a", 63), strings.Repeat("b", 63), strings.Repeat("d", 63), strings.Repeat("e", 61)}, ".")
	prefix := strings.Repeat("p", 49)
	// Each value is the longest its validator takes: one more character is refused.
	for _, c := range []struct {
		what     string
		validate func(string) error
		s        string
	}{
		{"cluster name", bootstrap.ValidateClusterName, cluster},
		{"registration address", bootstrap.ValidateRegistrationAddress, address},
		{"hostname prefix (and pool name)", bootstrap.ValidateHostnamePrefix, prefix},
	} {
		if err := c.validate(c.s); err != nil {
			t.Fatalf("%s of %d characters: %v", c.what, len(c.s), err)
		}
		if c.validate(c.s+"x") == nil {
			t.Fatalf("%s: %d characters are accepted; make the worst case longer", c.what, len(c.s)+1)
		}
	}

	cryptotest.SetGlobalRandom(t, 8)
	rnd := rand.NewChaCha8([32]byte{8})
	p, err := bootstrap.NewPKI(rnd, time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC), cluster)
	if err != nil {
		t.Fatal(err)
	}
	// random is n base64 characters of random bytes (gzip keeps about 6 bits of each).
	random := func(n int) string {
		b := make([]byte, n)
		_, _ = rnd.Read(b)
		return base64.StdEncoding.EncodeToString(b)[:n]
	}
	// fill pads head and tail with random characters to exactly MaxExtraUserData bytes.
	fill := func(head, tail string) string {
		return head + random(provisioning.MaxExtraUserData-len(head)-len(tail)) + tail
	}
	extras := map[string]string{
		"cloud-config": fill("#cloud-config\nwrite_files:\n  - path: /var/lib/blob\n    encoding: b64\n    content: ", "\n"),
		"script":       fill("#!/bin/sh\necho ", " | base64 -d > /var/lib/blob\n"),
	}

	for _, dist := range bootstrap.Distributions {
		for kind, extra := range extras {
			t.Run(dist+"-"+kind, func(t *testing.T) {
				if len(extra) != provisioning.MaxExtraUserData {
					t.Fatalf("extra user data of %d bytes; want %d", len(extra), provisioning.MaxExtraUserData)
				}
				if err := provisioning.ValidateUserData(extra); err != nil {
					t.Fatalf("the template would refuse it: %v", err)
				}
				n := bootstrap.Node{
					Cluster: cluster, Distribution: dist, KubernetesVersion: bootstrap.DefaultVersion(dist),
					NetworkPlugin: bootstrap.DefaultNetworkPlugin(dist), CloudProvider: "aws", ContainerRuntime: "containerd",
					InstallScriptURL: bootstrap.DefaultInstallScriptURL(dist), ClusterCIDR: bootstrap.DefaultClusterCIDR,
					ServiceCIDR: bootstrap.DefaultServiceCIDR, ClusterDNS: bootstrap.DefaultClusterDNS,
					SystemDefaultRegistry: "registry.example.com:5000",
					EtcdSnapshot:          &bootstrap.EtcdSnapshot{ScheduleCron: "0 */6 * * *", Retention: 10, S3Bucket: "demo-snapshots", S3Folder: "etcd/demo", S3Region: "us-west-2"},
					Pool:                  prefix, HostnamePrefix: prefix, Roles: []string{bootstrap.RoleEtcd, bootstrap.RoleControlPlane},
					ExtraUserData: extra,
				}
				l := bootstrap.Launch{IndexBase: 1 << 30, Init: true, RegistrationAddress: address, Secrets: p.SecretsFor(n, true)}
				text, err := bootstrap.Render(n, l)
				if err != nil {
					t.Fatal(err)
				}
				data, compressed, err := bootstrap.UserData(n, l)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%s, %s extra user data of %d bytes: %d bytes rendered, %d bytes as EC2 gets it (gzip: %v; %d bytes to spare)",
					dist, kind, len(extra), len(text), len(data), compressed, bootstrap.MaxUserData-len(data))
				if len(data) > bootstrap.MaxUserData {
					t.Errorf("the user data is %d bytes; EC2 takes at most %d", len(data), bootstrap.MaxUserData)
				}
				if !compressed || !bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
					t.Fatalf("compressed %v, first bytes % x; want gzip (%d bytes rendered do not fit uncompressed)", compressed, data[:2], len(text))
				}
				zr, err := gzip.NewReader(bytes.NewReader(data))
				if err != nil {
					t.Fatal(err)
				}
				plain, err := io.ReadAll(zr)
				if err != nil || string(plain) != text {
					t.Errorf("the gzip stream is not the rendered user data (%v)", err)
				}
				// What makes it the worst case is in it: the random bytes, a CA key (a line of it:
				// YAML indents the rest), the CCM manifest.
				for _, want := range []string{extra[len(extra)-200:], strings.Split(p.ServerCA.Key, "\n")[1], "image: registry.k8s.io/provider-aws/cloud-controller-manager:"} {
					if !strings.Contains(text, want) {
						t.Errorf("the rendered user data lacks %.60q...: the worst case is not rendered", want)
					}
				}
			})
		}
	}
}
