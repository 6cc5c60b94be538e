package bootstrap

import (
	"strings"
	"testing"
)

// TestRender_secretsByRole checks, on the rendered payload of every role and distribution, that
// each node carries what its role needs and nothing else (the sandbox test checks the same on
// booted nodes, as root): the init node the CA keys and both tokens, other servers both tokens
// and no key, agents the agent token only.
func TestRender_secretsByRole(t *testing.T) {
	p := testPKI(t)
	keys := []string{p.Root.Key, p.Intermediate.Key, p.ServerCA.Key, p.ClientCA.Key, p.RequestHeaderCA.Key,
		p.EtcdPeerCA.Key, p.EtcdServerCA.Key, p.ServiceKey}
	for _, f := range fixtures() {
		t.Run(f.name, func(t *testing.T) {
			text, err := Render(f.node, f.launch(p))
			if err != nil {
				t.Fatal(err)
			}
			has := func(secret string) bool { return strings.Contains(text, indentLines(secret)) }
			// The root and intermediate keys stay with the provider: the CAs under them are enough.
			for i, k := range keys {
				wantKey := f.init && i >= 2
				if got := has(k); got != wantKey {
					t.Errorf("private key %d in the payload: %v; want %v (init %v)", i, got, wantKey, f.init)
				}
			}
			server, agent := strings.Contains(text, p.ServerToken), strings.Contains(text, p.AgentToken)
			if server != f.node.Server() || !agent {
				t.Errorf("server token %v, agent token %v; want %v, true", server, agent, f.node.Server())
			}
			if strings.Contains(text, "BEGIN CERTIFICATE") != f.init {
				t.Errorf("certificates in the payload: %v; want only on the init node", !f.init)
			}
		})
	}
}

// indentLines is s as write_files content shows it: the first line of a PEM block is enough to
// find it, and its base64 lines are unique.
func indentLines(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 2 {
		return lines[1]
	}
	return s
}

// TestScript_installEnvironment: the template's engine_env reaches the downloads of the install
// scripts (proxies) and the install itself, install_env the install, and the pinned version
// and type win over both.
func TestScript_installEnvironment(t *testing.T) {
	n := baseNode("rke2", "worker", []string{RoleWorker})
	n.Engine.Env = map[string]string{"HTTPS_PROXY": "http://proxy.internal:3128", "INSTALL_RKE2_VERSION": "v1.0.0"}
	n.InstallEnv = map[string]string{"INSTALL_RKE2_ARTIFACT_PATH": "/opt/a", "INSTALL_RKE2_TYPE": "server"}
	s, err := Script(n.ForSpec(), Launch{IndexBase: 1, Server: "10.0.1.10", Secrets: Secrets{AgentToken: "t"}})
	if err != nil {
		t.Fatal(err)
	}
	var download, install string
	for _, line := range strings.Split(s, "\n") {
		switch {
		case strings.Contains(line, "curl") && strings.Contains(line, "ec2k8s-install.sh"):
			download = line
		case strings.HasSuffix(line, "sh /run/ec2k8s-install.sh"):
			install = line
		}
	}
	if !strings.Contains(download, "HTTPS_PROXY='http://proxy.internal:3128'") {
		t.Errorf("the download of the install script does not use engine_env's proxy: %q", download)
	}
	for _, want := range []string{"HTTPS_PROXY='http://proxy.internal:3128'", "INSTALL_RKE2_ARTIFACT_PATH='/opt/a'",
		"INSTALL_RKE2_VERSION='" + DefaultVersion("rke2") + "'", "INSTALL_RKE2_TYPE='agent'"} {
		if !strings.Contains(install, want) {
			t.Errorf("install line %q lacks %s", install, want)
		}
	}
}
