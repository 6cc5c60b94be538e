//go:build linux

package nodesandbox

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// collect reads what the boot did from the overlay's upper directory and the sandbox's report.
func collect(root, upper string, rep *report) (*Result, error) {
	r := &Result{
		Status: rep.Status, Stages: rep.Stages, IMDSRequests: rep.IMDS, FileRequests: rep.Files,
		TransientHostname: rep.TransientHostname, Files: map[string]*File{}, hidden: map[string]*File{}, root: root,
	}
	err := filepath.WalkDir(upper, func(p string, _ fs.DirEntry, err error) error {
		if err != nil || p == upper {
			return err
		}
		node := "/" + filepath.ToSlash(strings.TrimPrefix(p, upper+"/"))
		f, err := readUpper(p, node)
		if err != nil {
			return err
		}
		hash, plumbing := rep.Plumbing[node]
		switch {
		case node == recordDir || strings.HasPrefix(node, recordDir+"/"):
			r.hidden[node] = f // reported as Calls and Installs
		case plumbing && f.Mode.IsDir() && !f.opaque:
			r.hidden[node] = f
		case plumbing && f.Mode.IsRegular() && sha(f.Content) == hash:
			r.hidden[node] = f
		case f.Mode.IsDir() && !f.opaque && sameAsLower(root, node, f):
			// a directory copied up only to hold what changed in it
		default:
			r.Files[node] = f
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if r.Calls, err = readCalls(filepath.Join(upper, recordDir, "calls")); err != nil {
		return nil, err
	}
	if r.Installs, err = readInstalls(filepath.Join(upper, recordDir, "installs")); err != nil {
		return nil, err
	}
	users, groups := r.names("/etc/passwd"), r.names("/etc/group")
	for _, f := range r.Files {
		if !f.Deleted {
			f.Owner, f.Group = users[f.UID], groups[f.GID]
		}
	}
	if b, err := r.ReadFile("/etc/hostname"); err == nil {
		r.Hostname = strings.TrimSpace(string(b))
	}
	if b, err := r.ReadFile("/var/log/cloud-init.log"); err == nil {
		r.Log = string(b)
	}
	if b, err := r.ReadFile("/var/log/cloud-init-output.log"); err == nil {
		r.OutputLog = string(b)
	}
	return r, nil
}

func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// readUpper reads one entry of the upper directory. An overlay whiteout (a character device
// 0:0) is a deleted file; a directory with the opaque attribute hides the lower one's entries.
func readUpper(p, node string) (*File, error) {
	f, st, err := lstatFile(p, node)
	if err != nil {
		return nil, err
	}
	switch {
	case f.Mode&fs.ModeCharDevice != 0 && st.Rdev == 0:
		return &File{Path: node, Deleted: true}, nil
	case f.Mode.IsRegular():
		f.Content, err = os.ReadFile(p)
	case f.Mode.IsDir():
		buf := make([]byte, 8)
		n, xerr := syscall.Getxattr(p, "trusted.overlay.opaque", buf)
		f.opaque = xerr == nil && n > 0 && buf[0] == 'y'
	}
	return f, err
}

func lstatFile(p, node string) (*File, *syscall.Stat_t, error) {
	info, err := os.Lstat(p)
	if err != nil {
		return nil, nil, err
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return nil, nil, fmt.Errorf("%s: no stat_t", p)
	}
	f := &File{
		Path: node, Mode: info.Mode() & (fs.ModeType | fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky),
		UID: int(st.Uid), GID: int(st.Gid),
	}
	if f.Mode&fs.ModeSymlink != 0 {
		if f.Link, err = os.Readlink(p); err != nil {
			return nil, nil, err
		}
	}
	return f, st, nil
}

func sameAsLower(root, node string, f *File) bool {
	l, _, err := lstatFile(filepath.Join(root, node), node)
	return err == nil && l.Mode == f.Mode && l.UID == f.UID && l.GID == f.GID
}

// names maps the ids of an /etc/passwd or /etc/group of the node to their names.
func (r *Result) names(file string) map[int]string {
	out := map[int]string{}
	b, err := r.ReadFile(file)
	if err != nil {
		return out
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) < 3 {
			continue
		}
		if id, err := strconv.Atoi(fields[2]); err == nil {
			if _, dup := out[id]; !dup {
				out[id] = fields[0]
			}
		}
	}
	return out
}

// records lists the numbered record directories of dir in order.
func records(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var nums []int
	for _, e := range entries {
		if n, err := strconv.Atoi(e.Name()); err == nil && e.IsDir() {
			nums = append(nums, n)
		}
	}
	slices.Sort(nums)
	out := make([]string, len(nums))
	for i, n := range nums {
		out[i] = filepath.Join(dir, strconv.Itoa(n))
	}
	return out, nil
}

func readCalls(dir string) ([]Call, error) {
	recs, err := records(dir)
	if err != nil {
		return nil, err
	}
	var out []Call
	for _, rec := range recs {
		c := Call{Tool: readString(rec, "tool"), Args: splitNUL(readString(rec, "argv")), Caller: strings.TrimSpace(readString(rec, "caller"))}
		out = append(out, c)
	}
	return out, nil
}

func readInstalls(dir string) ([]Install, error) {
	recs, err := records(dir)
	if err != nil {
		return nil, err
	}
	var out []Install
	for _, rec := range recs {
		in := Install{Name: readString(rec, "name"), Env: map[string]string{}, Dir: strings.TrimSpace(readString(rec, "cwd"))}
		if argv := splitNUL(readString(rec, "argv")); len(argv) > 0 {
			in.Arg0, in.Args = argv[0], argv[1:]
		}
		for _, kv := range splitNUL(readString(rec, "env")) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				in.Env[k] = v
			}
		}
		in.Stdin = strings.TrimSpace(readString(rec, "stdin"))
		if strings.HasPrefix(in.Stdin, "pipe:") {
			in.Stdin = "pipe"
		}
		out = append(out, in)
	}
	return out, nil
}

func readString(dir, name string) string {
	b, _ := os.ReadFile(filepath.Join(dir, name))
	return string(b)
}

// splitNUL splits NUL-terminated strings.
func splitNUL(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\x00"), "\x00")
}

// lstat is the node's file at the clean absolute path p as the booted node saw it (the
// boot's files over the cached root), without following a symlink in its last element.
func (r *Result) lstat(p string) (*File, error) {
	for _, m := range []map[string]*File{r.Files, r.hidden} {
		if f, ok := m[p]; ok {
			if f.Deleted {
				return nil, errNotExist(p)
			}
			return f, nil
		}
	}
	for d := path.Dir(p); d != "/"; d = path.Dir(d) {
		if f, ok := r.Files[d]; ok && (f.Deleted || f.opaque) {
			return nil, errNotExist(p)
		}
	}
	f, _, err := lstatFile(filepath.Join(r.root, p), p)
	if err != nil {
		return nil, errNotExist(p)
	}
	f.lower = true
	return f, nil
}

// resolve follows the symlinks of the node's path p (absolute or not, from /) within the
// node, as the node's kernel would.
func (r *Result) resolve(p string) (string, *File, error) {
	const maxLinks = 40
	links := 0
	cur, rest := "/", strings.Split(strings.Trim(path.Clean("/"+p), "/"), "/")
	f, err := r.lstat("/")
	if err != nil {
		return "", nil, err
	}
	for len(rest) > 0 {
		elem := rest[0]
		rest = rest[1:]
		if elem == "" || elem == "." {
			continue
		}
		next := path.Join(cur, elem) // ".." at / stays at /, as in the kernel
		if f, err = r.lstat(next); err != nil {
			return "", nil, errNotExist(p)
		}
		if f.Mode&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		if links++; links > maxLinks {
			return "", nil, &fs.PathError{Op: "open", Path: p, Err: syscall.ELOOP}
		}
		target := f.Link
		if !path.IsAbs(target) {
			target = path.Join(cur, target)
		}
		rest = append(strings.Split(strings.Trim(path.Clean(target), "/"), "/"), rest...)
		cur = "/"
		if f, err = r.lstat("/"); err != nil {
			return "", nil, err
		}
	}
	return cur, f, nil
}

// File returns the file the boot created, changed or deleted at path (exactly: no symlink
// followed), if it did.
func (r *Result) File(path string) (*File, bool) {
	f, ok := r.Files[path]
	return f, ok
}

// ReadFile reads a file of the node after the boot, following symlinks within the node:
// what the boot wrote, or else the cached root's.
func (r *Result) ReadFile(p string) ([]byte, error) {
	resolved, f, err := r.resolve(p)
	if err != nil {
		return nil, err
	}
	switch {
	case f.Mode.IsDir():
		return nil, &fs.PathError{Op: "read", Path: p, Err: syscall.EISDIR}
	case !f.lower:
		return f.Content, nil
	}
	return os.ReadFile(filepath.Join(r.root, resolved))
}

// ReadDir lists the names in a directory of the node after the boot, sorted.
func (r *Result) ReadDir(dir string) ([]string, error) {
	resolved, f, err := r.resolve(dir)
	if err != nil {
		return nil, err
	}
	if !f.Mode.IsDir() {
		return nil, &fs.PathError{Op: "readdir", Path: dir, Err: syscall.ENOTDIR}
	}
	names := map[string]bool{}
	if !f.opaque {
		entries, err := os.ReadDir(filepath.Join(r.root, resolved))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		for _, e := range entries {
			names[e.Name()] = true
		}
	}
	for _, m := range []map[string]*File{r.Files, r.hidden} {
		for p, f := range m {
			if p != "/" && path.Dir(p) == resolved {
				names[path.Base(p)] = !f.Deleted
			}
		}
	}
	var out []string
	for n, ok := range names {
		if ok {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

// YAML reads and parses a YAML file of the node (ParseYAML).
func (r *Result) YAML(p string) (map[string]any, error) {
	b, err := r.ReadFile(p)
	if err != nil {
		return nil, err
	}
	m, err := ParseYAML(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return m, nil
}

// MergedConfig is the configuration RKE2 or k3s would load from dir of the booted node
// (/etc/rancher/rke2 or /etc/rancher/k3s): dir/config.yaml, then the files of
// dir/config.yaml.d named *.yaml or *.yml (any case) in lexical order, merged by MergeConfigs.
// As in k3s' pkg/configfilearg (dotDFiles, readConfigFile), config.yaml may be missing when
// drop-ins exist; it is an error (fs.ErrNotExist) when neither does.
func MergedConfig(r *Result, dir string) (map[string]any, error) {
	var docs []ConfigDoc
	main := path.Join(dir, "config.yaml")
	if b, err := r.ReadFile(main); err == nil {
		docs = append(docs, ConfigDoc{Name: main, Data: b})
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	names, err := r.ReadDir(main + ".d")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, n := range names { // sorted, as os.ReadDir sorts them for k3s
		lower, p := strings.ToLower(n), path.Join(main+".d", n)
		if !strings.HasSuffix(lower, ".yaml") && !strings.HasSuffix(lower, ".yml") {
			continue
		}
		if _, f, err := r.resolve(p); err != nil || f.Mode.IsDir() {
			continue
		}
		b, err := r.ReadFile(p)
		if err != nil {
			return nil, err
		}
		docs = append(docs, ConfigDoc{Name: p, Data: b})
	}
	if len(docs) == 0 {
		return nil, errNotExist(main)
	}
	return MergeConfigs(docs...)
}
