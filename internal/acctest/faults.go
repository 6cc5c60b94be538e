package acctest

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
)

// Fault is what the proxy does to one request.
type Fault int

// The faults the proxy injects.
const (
	NoFault         Fault = iota
	Throttle              // 503 RequestLimitExceeded, before moto sees the request
	ServerError           // 500 InternalError, before moto sees the request
	Unavailable           // 503 Unavailable, before moto sees the request
	DropBefore            // connection closed before moto sees the request
	DropAfter             // moto handles the request; the answer is lost
	CapacityError         // 500 InsufficientInstanceCapacity (only when forced)
	Unauthorized          // 403 UnauthorizedOperation, not retried (only when forced)
	numRandomFaults = 5   // Throttle to DropAfter
)

// FaultProxy is a loopback reverse proxy in front of moto that injects faults into a share of
// the requests. It is safe for concurrent use; the caller should call Close when finished.
type FaultProxy struct {
	URL    string
	srv    *httptest.Server
	target *url.URL

	mu       sync.Mutex
	rng      *rand.Rand
	rate     float64
	forced   map[string]Fault // by EC2 action
	times    map[string]int   // how many more times a forced fault applies; 0: always
	injected map[Fault]int
	actions  map[string]int    // requests received, by EC2 action
	answered map[string]int    // requests moto answered, by EC2 action
	hooks    map[string]func() // called once moto has answered an action (OnAnswer)
	rewrites map[string]func([]byte) []byte
}

// NewFaultProxy starts a proxy to m that injects a fault into rate of the requests, chosen by
// a generator seeded with seed, so a failing run can be replayed.
func NewFaultProxy(t *testing.T, m *Moto, rate float64, seed int64) *FaultProxy {
	t.Helper()
	target, err := url.Parse(m.URL)
	if err != nil {
		t.Fatal(err)
	}
	p := &FaultProxy{target: target, rng: rand.New(rand.NewSource(seed)), rate: rate,
		forced: map[string]Fault{}, times: map[string]int{}, injected: map[Fault]int{}, actions: map[string]int{},
		answered: map[string]int{}, hooks: map[string]func(){}, rewrites: map[string]func([]byte) []byte{}}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	p.URL = p.srv.URL
	t.Cleanup(p.Close)
	return p
}

// Close stops the proxy.
func (p *FaultProxy) Close() { p.srv.Close() }

// Force makes every request of an EC2 action get f.
func (p *FaultProxy) Force(action string, f Fault) { p.ForceN(action, f, 0) }

// ForceN makes the next n requests of an EC2 action get f (every one when n is 0).
func (p *FaultProxy) ForceN(action string, f Fault, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.forced[action], p.times[action] = f, n
}

// Injected returns how many of each fault were injected.
func (p *FaultProxy) Injected() map[Fault]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.injected)
}

// OnAnswer makes the proxy call fn each time moto has answered a request of an EC2 action,
// after the whole answer has been read from moto and before a byte of it is written back (or
// dropped, with DropAfter). A test can so kill its client at the very instant the action has
// taken effect; with ForceN(action, DropAfter, 1) the answer is then lost as well. fn runs on
// the request's goroutine, which waits for it; a nil fn removes the hook.
func (p *FaultProxy) OnAnswer(action string, fn func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if fn == nil {
		delete(p.hooks, action)
		return
	}
	p.hooks[action] = fn
}

// Rewrite makes the proxy pass moto's answers to an EC2 action through fn before the client
// gets them, to show what EC2 can answer and moto never does (instances that stay pending, say);
// a nil fn removes the rewrite.
func (p *FaultProxy) Rewrite(action string, fn func([]byte) []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if fn == nil {
		delete(p.rewrites, action)
		return
	}
	p.rewrites[action] = fn
}

// Count returns how many requests of an EC2 action the proxy has received, faulted or not.
func (p *FaultProxy) Count(action string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.actions[action]
}

// Counts returns how many requests of each EC2 action the proxy has received.
func (p *FaultProxy) Counts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.actions)
}

// Answered returns how many requests of an EC2 action moto has handled and answered (whether
// the answer then reached the client or was dropped).
func (p *FaultProxy) Answered(action string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.answered[action]
}

func (p *FaultProxy) pick(action string) Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.actions[action]++
	f, ok := p.forced[action]
	if ok && p.times[action] > 0 {
		if p.times[action]--; p.times[action] == 0 {
			delete(p.forced, action)
		}
	}
	if !ok && p.rng.Float64() < p.rate {
		f = Fault(1 + p.rng.Intn(numRandomFaults))
	}
	if f != NoFault {
		p.injected[f]++
	}
	return f
}

// faultErrors are the EC2 errors the proxy answers with, in moto's place, for the faults that
// are one.
var faultErrors = map[Fault]struct {
	status        int
	code, message string
}{
	Throttle:      {http.StatusServiceUnavailable, "RequestLimitExceeded", "Request limit exceeded."},
	ServerError:   {http.StatusInternalServerError, "InternalError", "An internal error has occurred."},
	Unavailable:   {http.StatusServiceUnavailable, "Unavailable", "The server is overloaded."},
	Unauthorized:  {http.StatusForbidden, "UnauthorizedOperation", "You are not authorized to perform this operation."},
	CapacityError: {http.StatusInternalServerError, "InsufficientInstanceCapacity", "We currently do not have sufficient capacity in the Availability Zone you requested."},
}

func (p *FaultProxy) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	action := ""
	if form, err := url.ParseQuery(string(body)); err == nil {
		action = form.Get("Action")
	}
	fault := p.pick(action)
	if e, ok := faultErrors[fault]; ok {
		ec2Error(w, e.status, e.code, e.message)
		return
	}
	if fault == DropBefore {
		drop(w)
		return
	}
	resp, err := p.forward(r, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	answer, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	p.mu.Lock()
	p.answered[action]++
	hook, rewrite := p.hooks[action], p.rewrites[action]
	p.mu.Unlock()
	if hook != nil {
		hook()
	}
	if rewrite != nil {
		answer = rewrite(answer)
		resp.Header.Del("Content-Length")
	}
	if fault == DropAfter {
		drop(w)
		return
	}
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(answer)
}

func (p *FaultProxy) forward(r *http.Request, body []byte) (*http.Response, error) {
	u := *p.target
	u.Path, u.RawQuery = r.URL.Path, r.URL.RawQuery
	req, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header = r.Header.Clone()
	return http.DefaultTransport.RoundTrip(req)
}

// drop closes the client's connection without an answer.
func drop(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("acctest: the proxy cannot hijack connections")
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

func ec2Error(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>ec2k8s-fault</RequestID></Response>`, code, msg)
}
