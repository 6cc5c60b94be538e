package bootstrap

import (
	"bytes"
	"strings"
	"testing"
)

func TestUserData_deterministicAndNamed(t *testing.T) {
	n := Node{Cluster: "demo", Distribution: "rke2", KubernetesVersion: "v1.31.4+rke2r1", Pool: "etcd", HostnamePrefix: "demo-etcd-", IndexBase: 4, Roles: []string{"etcd"}}
	a, err := UserData(n)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := UserData(n)
	if !bytes.Equal(a, b) {
		t.Error("UserData is not deterministic")
	}
	for _, want := range []string{"#cloud-config\n", `hostnamectl set-hostname "demo-etcd-$(( 4 + index ))"`, `"kubernetes_version":"v1.31.4+rke2r1"`} {
		if !strings.Contains(string(a), want) {
			t.Errorf("user data lacks %q:\n%s", want, a)
		}
	}
}
