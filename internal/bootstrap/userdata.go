package bootstrap

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// MaxUserData is what EC2 takes as user data, in raw form, before base64 encoding
// (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/user-data.html).
const MaxUserData = 16 * 1024

// cloudConfig is the part of cloud-init's config the nodes use.
type cloudConfig struct {
	WriteFiles []writeFile `yaml:"write_files"`
	RunCmd     [][]string  `yaml:"runcmd"`
}

type writeFile struct {
	Path        string `yaml:"path"`
	Permissions string `yaml:"permissions"`
	Owner       string `yaml:"owner"`
	Content     string `yaml:"content"`
}

// userMergeType makes cloud-init add the template's own cloud-config to the node's instead of
// replacing it: by default a later part's write_files or runcmd replace the earlier part's.
const userMergeType = "list(append)+dict(no_replace,recurse_list)+str()"

// mimeBoundary separates the parts of a user data with the template's own cloud-config.
const mimeBoundary = "==ec2k8s-user-data=="

// Render is the user data of a launch's nodes, uncompressed: a cloud-config that writes the
// node's files (its config drop-ins, registries, CAs on the node that starts the cluster...)
// and runs its bootstrap script; then the template's own user_data, run after it.
func Render(n Node, l Launch) (string, error) {
	fs, err := files(n, l)
	if err != nil {
		return "", err
	}
	script, err := Script(n, l)
	if err != nil {
		return "", err
	}
	cc := cloudConfig{RunCmd: [][]string{{ScriptPath}}}
	for _, f := range fs {
		cc.WriteFiles = append(cc.WriteFiles, writeFile{Path: f.Path, Permissions: f.Permissions, Owner: "root:root", Content: f.Content})
	}
	cc.WriteFiles = append(cc.WriteFiles, writeFile{Path: ScriptPath, Permissions: "0700", Owner: "root:root", Content: script})
	extra := n.ExtraUserData
	shell := strings.HasPrefix(extra, "#!")
	if shell {
		cc.WriteFiles = append(cc.WriteFiles, writeFile{Path: userScriptPath, Permissions: "0700", Owner: "root:root", Content: extra})
		cc.RunCmd = append(cc.RunCmd, []string{userScriptPath})
	}
	body, err := marshalYAML(cc)
	if err != nil {
		return "", err
	}
	init := ""
	if l.Init {
		init = ", starts the cluster"
	}
	ours := fmt.Sprintf("#cloud-config\n# ec2k8s: cluster %s, node pool %s (%s)%s\n%s", n.Cluster, n.Pool, strings.Join(n.Roles, ", "), init, body)
	switch {
	case extra == "" || shell:
		return ours, nil
	case strings.HasPrefix(extra, "#cloud-config"):
		return mime(ours, extra), nil
	default:
		return "", fmt.Errorf("bootstrap: the node template's user_data must start with #cloud-config or #! (a shell script)")
	}
}

// mime joins the node's cloud-config and the template's as a MIME multipart user data, the
// template's merged into the node's.
func mime(ours, theirs string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=%q\nMIME-Version: 1.0\n\n", mimeBoundary)
	fmt.Fprintf(&b, "--%s\nContent-Type: text/cloud-config; charset=\"utf-8\"\nMIME-Version: 1.0\nContent-Disposition: attachment; filename=\"ec2k8s.cfg\"\n\n%s\n", mimeBoundary, ours)
	fmt.Fprintf(&b, "--%s\nContent-Type: text/cloud-config; charset=\"utf-8\"\nMIME-Version: 1.0\nMerge-Type: %s\nContent-Disposition: attachment; filename=\"user-data.cfg\"\n\n%s\n", mimeBoundary, userMergeType, strings.TrimRight(theirs, "\n"))
	fmt.Fprintf(&b, "--%s--\n", mimeBoundary)
	return b.String()
}

// marshalYAML encodes v as YAML indented by two spaces, as cloud-init's and RKE2's docs write it.
func marshalYAML(v any) ([]byte, error) {
	var b bytes.Buffer
	e := yaml.NewEncoder(&b)
	e.SetIndent(2)
	if err := e.Encode(v); err != nil {
		return nil, fmt.Errorf("bootstrap: rendering YAML: %w", err)
	}
	if err := e.Close(); err != nil {
		return nil, fmt.Errorf("bootstrap: rendering YAML: %w", err)
	}
	return b.Bytes(), nil
}

// UserData is the user data of a launch's nodes as EC2 gets it: Render, gzip-compressed when it
// would not fit EC2's 16 KiB otherwise (cloud-init uncompresses it). compressed says so.
func UserData(n Node, l Launch) (data []byte, compressed bool, err error) {
	text, err := Render(n, l)
	if err != nil {
		return nil, false, err
	}
	if len(text) <= MaxUserData {
		return []byte(text), false, nil
	}
	var b bytes.Buffer
	w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if _, err := w.Write([]byte(text)); err != nil {
		return nil, false, err
	}
	if err := w.Close(); err != nil {
		return nil, false, err
	}
	return b.Bytes(), true, nil
}
