package bootstrap

import (
	"fmt"
	"net/netip"
	"strings"
)

// distro is what differs between RKE2 and k3s on a node, by their own conventions.
type distro struct {
	name     string
	confDir  string // /etc/rancher/<name>: config.yaml.d, registries.yaml
	dataDir  string // /var/lib/rancher/<name>: server/tls, server/manifests
	joinPort int    // RKE2 joins through its supervisor on 9345; k3s through the API on 6443
}

var distros = map[string]distro{
	"rke2": {name: "rke2", confDir: "/etc/rancher/rke2", dataDir: "/var/lib/rancher/rke2", joinPort: 9345},
	"k3s":  {name: "k3s", confDir: "/etc/rancher/k3s", dataDir: "/var/lib/rancher/k3s", joinPort: 6443},
}

func distroOf(n Node) (distro, error) {
	d, ok := distros[n.Distribution]
	if !ok {
		return distro{}, fmt.Errorf("bootstrap: %q is not a distribution", n.Distribution)
	}
	return d, nil
}

// service is the systemd unit the node runs.
func (d distro) service(server bool) string {
	switch {
	case d.name == "rke2" && server:
		return "rke2-server"
	case d.name == "rke2":
		return "rke2-agent"
	case server:
		return "k3s"
	default:
		return "k3s-agent"
	}
}

// installEnv is what the distribution's install script is told: the pinned version and the
// node's type, and not to start the service (the bootstrap starts it with systemctl). The
// RKE2 script never starts it; the k3s script does unless told not to.
func (d distro) installEnv(n Node) map[string]string {
	kind := "agent"
	if n.Server() {
		kind = "server"
	}
	if d.name == "rke2" {
		return map[string]string{"INSTALL_RKE2_VERSION": n.KubernetesVersion, "INSTALL_RKE2_TYPE": kind}
	}
	return map[string]string{"INSTALL_K3S_VERSION": n.KubernetesVersion, "INSTALL_K3S_EXEC": kind, "INSTALL_K3S_SKIP_START": "true"}
}

// joinURL is the server URL a joining node is given.
func (d distro) joinURL(host string) string {
	if a, err := netip.ParseAddr(host); err == nil && a.Is6() {
		host = "[" + host + "]"
	}
	return fmt.Sprintf("https://%s:%d", host, d.joinPort)
}

// dockerOnly lists the template's engine settings that only a docker engine uses.
func dockerOnly(e Engine) []string {
	var out []string
	if e.InstallURL != "" {
		out = append(out, "engine_install_url")
	}
	if len(e.Labels) > 0 {
		out = append(out, "engine_labels")
	}
	if e.StorageDriver != "" {
		out = append(out, "engine_storage_driver")
	}
	if len(e.Options) > 0 {
		out = append(out, "engine_options")
	}
	return out
}

// CheckEngine refuses engine settings the node would not use: the docker daemon's settings
// without the docker runtime (k3s with container_runtime = "docker"), and insecure registries
// given as CIDRs, which only docker understands. Nothing is dropped silently.
func CheckEngine(n Node) error {
	if n.ContainerRuntime == "docker" {
		return nil
	}
	if set := dockerOnly(n.Engine); len(set) > 0 {
		return fmt.Errorf("%s configure the docker daemon, which this cluster does not run (%s with containerd): remove them, or use distribution = \"k3s\" with container_runtime = \"docker\"",
			strings.Join(set, ", "), n.Distribution)
	}
	for _, r := range n.Engine.InsecureRegistries {
		if _, err := netip.ParsePrefix(r); err == nil {
			return fmt.Errorf("engine_insecure_registries: %q is a CIDR block, which containerd's registries.yaml cannot express: name each registry as host[:port]", r)
		}
	}
	return nil
}
