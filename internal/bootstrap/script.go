package bootstrap

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/template"
)

// ScriptPath is where the user data puts the node's bootstrap script, which cloud-init runs.
const ScriptPath = "/usr/local/sbin/ec2k8s-bootstrap"

// userScriptPath holds the template's user_data when it is a shell script: run after the
// bootstrap, as the template's docs promise.
const userScriptPath = "/usr/local/sbin/ec2k8s-user-data"

// scriptTemplate is the node's bootstrap, run once by cloud-init: it learns the node's name and
// addresses from instance metadata (IMDSv2: a session token first), writes the node's own
// config, assembles the CA bundles on the node that starts the cluster, installs the container
// engine (docker only) and the distribution at the pinned version, and starts its service.
var scriptTemplate = template.Must(template.New("bootstrap").Option("missingkey=error").Funcs(template.FuncMap{"q": shellQuote}).Parse(`#!/bin/sh
# ec2k8s node bootstrap: cluster {{ .Cluster }}, node pool {{ .Pool }}, {{ .Dist }} {{ .Kind }}{{ if .Init }}, starting the cluster{{ end }}.
set -eu
imds=http://169.254.169.254/latest
token=$(curl -sf --retry 10 --retry-connrefused -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 600" "$imds/api/token")
md() { curl -sf --retry 5 -H "X-aws-ec2-metadata-token: $token" "$imds/meta-data/$1"; }

# The node's name: the pool's prefix and its index, the launch's first plus its launch index.
index=$(md ami-launch-index)
name={{ q .Prefix }}$(( {{ .IndexBase }} + index ))
hostnamectl set-hostname "$name"
private_ip=$(md local-ipv4)
{{- if or .ExternalIP .Server }}
public_ip=$(md public-ipv4 || true)
{{- end }}
{
  echo "# this node, from its instance metadata (ec2k8s)"
  echo "node-name: $name"
  echo "node-ip: $private_ip"
{{- if .ExternalIP }}
  if [ -n "$public_ip" ]; then echo "node-external-ip: $public_ip"; fi
{{- end }}
{{- if .Server }}
  echo "tls-san:"
  echo "  - $private_ip"
  if [ -n "$public_ip" ]; then echo "  - $public_ip"; fi
{{- if .RegistrationAddress }}
  echo "  - "{{ q .RegistrationAddress }}
{{- end }}
{{- end }}
{{- if .AWS }}
  echo "kubelet-arg+:"
  echo "  - provider-id=aws:///$(md placement/availability-zone)/$(md instance-id)"
{{- end }}
} > {{ q .NodeConfig }}
{{- if .Init }}

# The cluster's CAs: each bundle is the CA, then the intermediate, then the root.
tls={{ q .TLSDir }}
for ca in {{ .CAs }}; do
  cat "$tls/$ca.pem" "$tls/intermediate-ca.pem" "$tls/root-ca.pem" > "$tls/$ca.crt"
  rm "$tls/$ca.pem"
done
rm "$tls/intermediate-ca.pem" "$tls/root-ca.pem"
{{- end }}
{{- if .EngineInstallURL }}

# The docker engine, before Kubernetes (engine_install_url).
{{ if .EngineEnv }}env {{ .EngineEnv }}{{ end }}curl -sfL --retry 5 {{ q .EngineInstallURL }} -o /run/ec2k8s-engine-install.sh
env {{ .EngineEnv }}sh /run/ec2k8s-engine-install.sh
{{- end }}

# {{ .Dist }} at the pinned version, then its service.
{{ if .EngineEnv }}env {{ .EngineEnv }}{{ end }}curl -sfL --retry 5 {{ q .InstallURL }} -o /run/ec2k8s-install.sh
env {{ .InstallEnv }}sh /run/ec2k8s-install.sh
systemctl enable --now {{ .Service }}.service
`))

type scriptData struct {
	Cluster, Pool, Dist, Kind, Prefix, Service string
	IndexBase                                  int
	Init, Server, ExternalIP, AWS              bool
	RegistrationAddress, NodeConfig, TLSDir    string
	CAs                                        string
	EngineInstallURL, EngineEnv                string
	InstallURL, InstallEnv                     string
}

// Script renders the bootstrap script of a launch's nodes.
func Script(n Node, l Launch) (string, error) {
	d, err := distroOf(n)
	if err != nil {
		return "", err
	}
	kind := "agent"
	if n.Server() {
		kind = "server"
	}
	// The template's environment (proxies the download needs), the cluster's install_env, and
	// the pinned version and type, which always win.
	install := maps.Clone(n.Engine.Env)
	if install == nil {
		install = map[string]string{}
	}
	maps.Copy(install, n.InstallEnv)
	maps.Copy(install, d.installEnv(n))
	data := scriptData{
		Cluster: n.Cluster, Pool: n.Pool, Dist: d.name, Kind: kind, Prefix: n.HostnamePrefix, Service: d.service(n.Server()),
		IndexBase: l.IndexBase, Init: l.Init, Server: n.Server(),
		// With the AWS cloud provider the cloud controller manager sets the node's addresses.
		ExternalIP: n.CloudProvider != "aws", AWS: n.CloudProvider == "aws",
		RegistrationAddress: l.RegistrationAddress, NodeConfig: d.confDir + "/config.yaml.d/" + configNodeFile,
		TLSDir: d.dataDir + "/server/tls", CAs: strings.Join(CAFileNames, " "),
		InstallURL: n.InstallScriptURL, InstallEnv: envArgs(install), EngineEnv: envArgs(n.Engine.Env),
	}
	if data.InstallURL == "" {
		data.InstallURL = DefaultInstallScriptURL(d.name)
	}
	if n.ContainerRuntime == "docker" {
		data.EngineInstallURL = n.Engine.InstallURL
		if data.EngineInstallURL == "" {
			data.EngineInstallURL = DefaultEngineInstallURL
		}
	}
	var b bytes.Buffer
	if err := scriptTemplate.Execute(&b, data); err != nil {
		return "", fmt.Errorf("bootstrap: rendering the bootstrap script: %w", err)
	}
	return b.String(), nil
}

// DefaultEngineInstallURL installs docker when the cluster runs on it and the template names no
// script of its own.
const DefaultEngineInstallURL = "https://get.docker.com"

// envArgs is NAME='value' pairs for env(1), each followed by a space.
func envArgs(env map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(env)) {
		b.WriteString(k + "=" + shellQuote(env[k]) + " ")
	}
	return b.String()
}

// shellQuote quotes s for sh: in single quotes, each single quote as '\”.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
