package bootstrap

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// File is one file the node's user data writes.
type File struct {
	Path        string
	Permissions string // octal, such as "0600": every file holding a secret is 0600
	Content     string
}

// The drop-in files of the distribution's config.yaml.d, merged in lexical order: what the pool
// says (10), how this launch joins with its tokens (20, secret), and what the node learns from
// its instance metadata at boot (30, written by the bootstrap script).
const (
	configPoolFile = "10-ec2k8s-pool.yaml"
	configJoinFile = "20-ec2k8s-join.yaml"
	configNodeFile = "30-ec2k8s-node.yaml"
)

// files are the files of a node's user data, in the order they are written.
func files(n Node, l Launch) ([]File, error) {
	d, err := distroOf(n)
	if err != nil {
		return nil, err
	}
	if err := CheckEngine(n); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	pool, err := yamlDoc(fmt.Sprintf("# %s node pool %s of cluster %s (ec2k8s): %s", d.name, n.Pool, n.Cluster, strings.Join(n.Roles, ", ")), poolConfig(n))
	if err != nil {
		return nil, err
	}
	join, err := yamlDoc("# how these nodes join the cluster, and its tokens (ec2k8s)", joinConfig(n, l, d))
	if err != nil {
		return nil, err
	}
	out := []File{
		{Path: d.confDir + "/config.yaml.d/" + configPoolFile, Permissions: "0644", Content: pool},
		{Path: d.confDir + "/config.yaml.d/" + configJoinFile, Permissions: "0600", Content: join},
	}
	if reg, err := registries(n.Engine); err != nil {
		return nil, err
	} else if reg != "" {
		out = append(out, File{Path: d.confDir + "/registries.yaml", Permissions: "0600", Content: reg})
	}
	if len(n.Engine.Env) > 0 {
		// The unit reads /etc/default/<unit> (both distributions' units; the k3s installer
		// rewrites its own .service.env, so this is the file that lasts).
		out = append(out, File{Path: "/etc/default/" + d.service(n.Server()), Permissions: "0600", Content: envFile(n.Engine.Env)})
	}
	if n.ContainerRuntime == "docker" {
		daemon, err := daemonJSON(n.Engine)
		if err != nil {
			return nil, err
		}
		out = append(out, File{Path: "/etc/docker/daemon.json", Permissions: "0644", Content: daemon})
	}
	if n.CloudProvider == "aws" && n.ControlPlane() {
		ccm, err := ccmManifest(n.KubernetesVersion)
		if err != nil {
			return nil, err
		}
		out = append(out, File{Path: d.dataDir + "/server/manifests/ec2k8s-aws-cloud-controller-manager.yaml", Permissions: "0600", Content: ccm})
	}
	if ca := l.Secrets.CA; ca != nil && l.Init {
		tls := d.dataDir + "/server/tls/"
		// Each certificate once; the bootstrap assembles the bundles (CA, intermediate, root).
		out = append(out,
			File{Path: tls + "root-ca.pem", Permissions: "0644", Content: ca.Root},
			File{Path: tls + "intermediate-ca.pem", Permissions: "0644", Content: ca.Intermediate})
		for _, name := range CAFileNames {
			out = append(out,
				File{Path: tls + name + ".pem", Permissions: "0644", Content: ca.CAs[name].Cert},
				File{Path: tls + name + ".key", Permissions: "0600", Content: ca.CAs[name].Key})
		}
		out = append(out, File{Path: tls + "service.key", Permissions: "0600", Content: ca.ServiceKey})
	}
	return out, nil
}

// poolConfig is what every node of the pool is configured with, by role.
func poolConfig(n Node) map[string]any {
	c := map[string]any{}
	server := n.Server()
	if server {
		if n.Distribution == "rke2" {
			c["cni"] = n.NetworkPlugin
		} else if n.NetworkPlugin == "none" {
			c["flannel-backend"] = "none"
			c["disable-network-policy"] = true
		}
		c["cluster-cidr"], c["service-cidr"], c["cluster-dns"] = n.ClusterCIDR, n.ServiceCIDR, n.ClusterDNS
		if !n.ControlPlane() {
			c["disable-apiserver"], c["disable-controller-manager"], c["disable-scheduler"] = true, true, true
		}
		if !n.Etcd() {
			c["disable-etcd"] = true
		}
		if s := n.EtcdSnapshot; s != nil && n.Etcd() {
			c["etcd-snapshot-schedule-cron"], c["etcd-snapshot-retention"] = s.ScheduleCron, s.Retention
			if s.S3Bucket != "" {
				c["etcd-s3"], c["etcd-s3-bucket"] = true, s.S3Bucket
				for k, v := range map[string]string{"etcd-s3-folder": s.S3Folder, "etcd-s3-region": s.S3Region, "etcd-s3-endpoint": s.S3Endpoint} {
					if v != "" {
						c[k] = v
					}
				}
			}
		}
	}
	if n.SystemDefaultRegistry != "" && (server || n.Distribution == "rke2") {
		c["system-default-registry"] = n.SystemDefaultRegistry
	}
	if n.ContainerRuntime == "docker" {
		c["docker"] = true
	}
	if n.CloudProvider == "aws" {
		// The AWS cloud controller manager replaces the distribution's own, and every kubelet
		// waits for it (cloud-provider=external); the node's provider-id is added at boot.
		if server {
			c["disable-cloud-controller"] = true
		}
		c["kubelet-arg"] = []string{"cloud-provider=external"}
	}
	if labels := labelList(n.Labels); len(labels) > 0 {
		c["node-label"] = labels
	}
	if taints := append(n.DefaultTaints(), n.Taints...); len(taints) > 0 {
		c["node-taint"] = taints
	}
	return c
}

// joinConfig is how a launch's nodes come into the cluster: the tokens their roles need, and the
// server to join through (none for the node that starts the cluster).
func joinConfig(n Node, l Launch, d distro) map[string]any {
	c := map[string]any{}
	if n.Server() {
		c["token"], c["agent-token"] = l.Secrets.ServerToken, l.Secrets.AgentToken
	} else {
		c["token"] = l.Secrets.AgentToken
	}
	switch {
	case l.Init && d.name == "k3s":
		c["cluster-init"] = true
	case !l.Init:
		c["server"] = d.joinURL(l.Server)
	}
	return c
}

func labelList(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, k+"="+m[k])
	}
	return out
}

// yamlDoc renders a config document with a comment line first.
func yamlDoc(comment string, v map[string]any) (string, error) {
	b, err := marshalYAML(v)
	if err != nil {
		return "", err
	}
	return comment + "\n" + string(b), nil
}

// registries is registries.yaml, the registry configuration RKE2 and k3s read: the template's
// mirrors for docker.io, and its insecure registries reached without TLS verification.
func registries(e Engine) (string, error) {
	if len(e.RegistryMirrors) == 0 && len(e.InsecureRegistries) == 0 {
		return "", nil
	}
	doc := map[string]any{}
	if len(e.RegistryMirrors) > 0 {
		doc["mirrors"] = map[string]any{"docker.io": map[string]any{"endpoint": e.RegistryMirrors}}
	}
	if len(e.InsecureRegistries) > 0 {
		configs := map[string]any{}
		for _, r := range e.InsecureRegistries {
			configs[r] = map[string]any{"tls": map[string]any{"insecure_skip_verify": true}}
		}
		doc["configs"] = configs
	}
	return yamlDoc("# registries of the node template (ec2k8s): engine_registry_mirrors, engine_insecure_registries", doc)
}

// envFile is a systemd environment file, each value quoted.
func envFile(env map[string]string) string {
	var b strings.Builder
	b.WriteString("# engine_env of the node template (ec2k8s)\n")
	for _, k := range slices.Sorted(maps.Keys(env)) {
		fmt.Fprintf(&b, "%s=%s\n", k, strconv.Quote(env[k]))
	}
	return b.String()
}

// daemonJSON is /etc/docker/daemon.json from the template's engine settings. An option's value
// is taken as JSON when it is JSON (a number, a list...), else as a string.
func daemonJSON(e Engine) (string, error) {
	doc := map[string]any{}
	for k, v := range e.Options {
		var parsed any
		if json.Unmarshal([]byte(v), &parsed) == nil {
			doc[k] = parsed
		} else {
			doc[k] = v
		}
	}
	if len(e.Labels) > 0 {
		doc["labels"] = labelList(e.Labels)
	}
	if e.StorageDriver != "" {
		doc["storage-driver"] = e.StorageDriver
	}
	if len(e.RegistryMirrors) > 0 {
		doc["registry-mirrors"] = e.RegistryMirrors
	}
	if len(e.InsecureRegistries) > 0 {
		doc["insecure-registries"] = e.InsecureRegistries
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return "", fmt.Errorf("bootstrap: rendering daemon.json: %w", err)
	}
	return string(b) + "\n", nil
}
