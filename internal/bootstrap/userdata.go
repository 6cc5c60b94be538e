package bootstrap

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"text/template"
)

// Node is what a node of a pool is told at boot. It is the same for every node of one launch:
// each node derives its own name from IndexBase plus its EC2 AMI launch index.
type Node struct {
	Cluster           string
	Distribution      string
	KubernetesVersion string
	NetworkPlugin     string
	CloudProvider     string
	Pool              string
	HostnamePrefix    string
	IndexBase         int
	Roles             []string
	Labels            map[string]string
	Taints            []string
	ExtraUserData     string
}

// hostnameScript names the node from instance metadata (IMDSv2 only) and its launch index.
var hostnameScript = template.Must(template.New("hostname").Option("missingkey=error").Parse(`#!/bin/sh
# Names this node {{ .HostnamePrefix }}<n>, n = {{ .IndexBase }} + its EC2 AMI launch index.
set -eu
imds=http://169.254.169.254/latest
token=$(curl -sf -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" "$imds/api/token")
index=$(curl -sf -H "X-aws-ec2-metadata-token: $token" "$imds/meta-data/ami-launch-index")
hostnamectl set-hostname "{{ .HostnamePrefix }}$(( {{ .IndexBase }} + index ))"
`))

// userDataTemplate is a placeholder bootstrap until the Kubernetes install is rendered: it names
// the node and records its settings.
var userDataTemplate = template.Must(template.New("user-data").Option("missingkey=error").Parse(`#cloud-config
# ec2k8s node bootstrap: cluster {{ .Cluster }}, pool {{ .Pool }}
write_files:
  - path: /etc/ec2k8s/node.json
    permissions: "0644"
    content: |
      {{ .NodeJSON }}
  - path: /usr/local/sbin/ec2k8s-hostname
    permissions: "0755"
    content: |
{{ .Script }}
runcmd:
  - [/usr/local/sbin/ec2k8s-hostname]
`))

// HostnameScript renders the shell script that names the node.
func HostnameScript(n Node) (string, error) {
	var buf bytes.Buffer
	if err := hostnameScript.Execute(&buf, n); err != nil {
		return "", fmt.Errorf("bootstrap: rendering the hostname script: %w", err)
	}
	return buf.String(), nil
}

// UserData renders the cloud-init user data of n.
func UserData(n Node) ([]byte, error) {
	roles := append([]string(nil), n.Roles...)
	sort.Strings(roles)
	nodeJSON, err := json.Marshal(map[string]any{
		"cluster": n.Cluster, "distribution": n.Distribution, "kubernetes_version": n.KubernetesVersion,
		"network_plugin": n.NetworkPlugin, "cloud_provider": n.CloudProvider, "pool": n.Pool,
		"roles": roles, "labels": n.Labels, "taints": n.Taints,
	})
	if err != nil {
		return nil, fmt.Errorf("bootstrap: encoding node settings: %w", err)
	}
	script, err := HostnameScript(n)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	err = userDataTemplate.Execute(&buf, map[string]any{
		"Cluster": n.Cluster, "Pool": n.Pool, "NodeJSON": string(nodeJSON), "Script": indent(script, "      "),
	})
	if err != nil {
		return nil, fmt.Errorf("bootstrap: rendering user data: %w", err)
	}
	return buf.Bytes(), nil
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n")
}
