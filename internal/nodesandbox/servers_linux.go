//go:build linux

package nodesandbox

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Request is one HTTP request to a sandbox server (IMDS or the file server), in arrival order.
type Request struct {
	Method string
	Path   string
	// Status is the status code of the response.
	Status int
	// Header is the request's header (Go's canonical keys: X-Aws-Ec2-Metadata-Token, ...).
	Header http.Header
	At     time.Time
}

// recorder keeps the requests of one server.
type recorder struct {
	mu   sync.Mutex
	reqs []Request
}

func (rec *recorder) add(r *http.Request, status int) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.reqs = append(rec.reqs, Request{Method: r.Method, Path: r.URL.Path, Status: status, Header: r.Header.Clone(), At: time.Now()})
}

func (rec *recorder) list() []Request {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]Request(nil), rec.reqs...)
}

// imds is an IMDSv2 stub with http_tokens=required: PUT /latest/api/token with
// X-aws-ec2-metadata-token-ttl-seconds (1 to 21600) returns a token; every GET needs a valid,
// unexpired X-aws-ec2-metadata-token, or is refused with 401. It serves /latest/meta-data/
// (the node's Metadata, directories listed as EC2 lists them), /latest/user-data and
// /latest/dynamic/instance-identity/document.
type imds struct {
	rec      recorder
	md       map[string]string // meta-data path (no leading slash) -> value
	userData []byte
	identity []byte

	mu     sync.Mutex
	tokens map[string]time.Time
}

func newIMDS(m Metadata, userData []byte) *imds {
	md := map[string]string{
		"instance-id":                 m.InstanceID,
		"ami-launch-index":            strconv.Itoa(m.AMILaunchIndex),
		"local-ipv4":                  m.LocalIPv4,
		"placement/availability-zone": m.AvailabilityZone,
		"placement/region":            m.region(),
		"hostname":                    m.Hostname,
		"local-hostname":              m.Hostname,
	}
	if m.PublicIPv4 != "" {
		md["public-ipv4"] = m.PublicIPv4
	}
	for k, v := range m.Extra {
		md[strings.Trim(k, "/")] = v
	}
	identity, _ := json.MarshalIndent(map[string]any{
		"accountId": "123456789012", "architecture": "x86_64", "availabilityZone": m.AvailabilityZone,
		"imageId": md["ami-id"], "instanceId": m.InstanceID, "instanceType": md["instance-type"],
		"privateIp": m.LocalIPv4, "region": m.region(), "version": "2017-09-30",
	}, "", "  ")
	return &imds{md: md, userData: userData, identity: identity, tokens: map[string]time.Time{}}
}

func (s *imds) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	status := s.serve(w, r)
	s.rec.add(r, status)
}

func (s *imds) serve(w http.ResponseWriter, r *http.Request) int {
	reply := func(status int, body string) int {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
		return status
	}
	if r.URL.Path == "/latest/api/token" {
		if r.Method != http.MethodPut {
			return reply(http.StatusMethodNotAllowed, "")
		}
		if r.Header.Get("X-Forwarded-For") != "" { // IMDS refuses tokens requested through a proxy
			return reply(http.StatusForbidden, "")
		}
		ttl, err := strconv.Atoi(r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds"))
		if err != nil || ttl < 1 || ttl > 21600 {
			return reply(http.StatusBadRequest, "")
		}
		b := make([]byte, 24)
		_, _ = rand.Read(b)
		token := "sandbox-" + hex.EncodeToString(b)
		s.mu.Lock()
		s.tokens[token] = time.Now().Add(time.Duration(ttl) * time.Second)
		s.mu.Unlock()
		w.Header().Set("X-aws-ec2-metadata-token-ttl-seconds", strconv.Itoa(ttl))
		return reply(http.StatusOK, token)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return reply(http.StatusMethodNotAllowed, "")
	}
	s.mu.Lock()
	exp, ok := s.tokens[r.Header.Get("X-aws-ec2-metadata-token")]
	s.mu.Unlock()
	if !ok || time.Now().After(exp) {
		return reply(http.StatusUnauthorized, "")
	}
	switch p := r.URL.Path; {
	case p == "/latest/user-data":
		if len(s.userData) == 0 {
			return reply(http.StatusNotFound, "")
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(s.userData)
		return http.StatusOK
	case p == "/latest/dynamic/instance-identity/document":
		return reply(http.StatusOK, string(s.identity))
	case p == "/latest/meta-data" || strings.HasPrefix(p, "/latest/meta-data/"):
		key := strings.TrimPrefix(strings.TrimPrefix(p, "/latest/meta-data"), "/")
		if v, ok := s.md[key]; ok && !strings.HasSuffix(p, "/") {
			return reply(http.StatusOK, v)
		}
		if list := s.listing(key); list != "" {
			return reply(http.StatusOK, list)
		}
		return reply(http.StatusNotFound, "")
	}
	return reply(http.StatusNotFound, "")
}

// listing is the meta-data directory dir as EC2 lists it: one entry a line, subdirectories
// with a trailing slash; "" if dir has nothing.
func (s *imds) listing(dir string) string {
	dir = strings.Trim(dir, "/")
	prefix := dir + "/"
	if dir == "" {
		prefix = ""
	}
	seen := map[string]bool{}
	for k := range s.md {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		name, _, sub := strings.Cut(strings.TrimPrefix(k, prefix), "/")
		if sub {
			name += "/"
		}
		seen[name] = true
	}
	return strings.Join(slices.Sorted(maps.Keys(seen)), "\n")
}

// fileServer serves Node.Files and the stub installer, recording every request.
type fileServer struct {
	rec   recorder
	files map[string][]byte
}

func newFileServer(files map[string][]byte) *fileServer {
	srv := &fileServer{files: map[string][]byte{"/install.sh": StubInstaller("install.sh")}}
	for p, b := range files {
		srv.files["/"+strings.TrimPrefix(p, "/")] = b
	}
	return srv
}

func (s *fileServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, ok := s.files[r.URL.Path]
	switch {
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		w.WriteHeader(http.StatusMethodNotAllowed)
		s.rec.add(r, http.StatusMethodNotAllowed)
	case !ok:
		http.NotFound(w, r)
		s.rec.add(r, http.StatusNotFound)
	default:
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(b)
		}
		s.rec.add(r, http.StatusOK)
	}
}
