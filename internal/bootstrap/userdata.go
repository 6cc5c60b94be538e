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
//
// GOTCHA: the JSON encoding of Node (without IndexBase) is part of a pool's spec hash, and a new
// hash replaces every node. The names in the json tags are therefore fixed; a new field must be
// omitempty, so that nodes made before it existed keep their hash while it is unset.
type Node struct {
	Cluster           string            `json:"cluster"`
	Distribution      string            `json:"distribution"`
	KubernetesVersion string            `json:"kubernetes_version"`
	NetworkPlugin     string            `json:"network_plugin,omitempty"`
	CloudProvider     string            `json:"cloud_provider,omitempty"`
	Pool              string            `json:"pool"`
	HostnamePrefix    string            `json:"hostname_prefix"`
	IndexBase         int               `json:"-"`
	Roles             []string          `json:"roles"`
	Labels            map[string]string `json:"labels,omitempty"`
	Taints            []string          `json:"taints,omitempty"`
	UsePrivateAddress bool              `json:"use_private_address,omitempty"`
	Engine            Engine            `json:"engine,omitzero"`
	ExtraUserData     string            `json:"extra_user_data,omitempty"`
}

// Engine is the container engine settings of a node template (Rancher's "engine options").
type Engine struct {
	InstallURL         string            `json:"install_url,omitempty"`
	RegistryMirrors    []string          `json:"registry_mirrors,omitempty"`
	InsecureRegistries []string          `json:"insecure_registries,omitempty"`
	Labels             map[string]string `json:"labels,omitempty"`
	Options            map[string]string `json:"options,omitempty"`
	Env                map[string]string `json:"env,omitempty"`
	StorageDriver      string            `json:"storage_driver,omitempty"`
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
    permissions: "0600"
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
	n.Roles = roles
	nodeJSON, err := json.Marshal(n)
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
