package acctest

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// The rules of StrictEC2, as keys of Fired. RuleClientTokenReplay counts the launches answered
// from a client token's first answer, RuleClientToken the tokens refused.
const (
	RuleFilterValues      = "filter-values"
	RuleIngressRepeated   = "ingress-repeated"
	RuleIngressDuplicate  = "ingress-duplicate"
	RuleIngressQuota      = "ingress-quota"
	RuleMetadataTagKeys   = "metadata-tag-keys"
	RuleUserDataSize      = "user-data-size"
	RuleTerminateUnknown  = "terminate-unknown"
	RuleClientToken       = "client-token"
	RuleClientTokenReplay = "client-token-replay"
	RuleLag               = "lag"
)

// DefaultRuleQuota is EC2's default quota of inbound rules per security group and address family.
const DefaultRuleQuota = 60

// ec2Version is the API version the SDK's EC2 client sends; STS and IAM send others.
const ec2Version = "2016-11-15"

// StrictEC2 is a loopback reverse proxy in front of moto that answers as EC2 does where moto
// is lenient: it refuses what EC2 refuses, without forwarding, so moto's state stays as EC2's
// would. Non-EC2 requests (STS, IAM, /moto-api/*) pass untouched. It is safe for concurrent
// use; the caller should call Close when finished.
type StrictEC2 struct {
	// URL is the proxy's base URL, http://127.0.0.1:<port>.
	URL string
	// RuleQuota is the most inbound rules a security group may hold per address family. Tests
	// lower it to reach the quota in a few requests; Reset restores DefaultRuleQuota.
	RuleQuota atomic.Int32
	// MetadataTagsByDefault is the account's default for instance tags in instance metadata,
	// which a launch that does not say takes; Reset restores false, EC2's own default.
	MetadataTagsByDefault atomic.Bool

	srv       *httptest.Server
	target    *url.URL
	closeOnce sync.Once

	clientMu sync.Mutex
	creds    aws.CredentialsProvider
	clients  map[string]*ec2.Client // by region

	// ingressMu makes the look-up of a group's rules and the forwarded authorization one step,
	// so two concurrent requests cannot both pass the duplicate and quota checks.
	ingressMu sync.Mutex

	mu      sync.Mutex
	fired   map[string]int
	answers map[string]int // what the rules answered: an error code, or "empty <action>"
	lag     int
	lagging map[lagKey]*lagging
	tokens  map[string]*launch // by region and client token
}

// NewStrictEC2 starts a proxy to the moto at target; creds sign the proxy's own look-ups.
func NewStrictEC2(target string, creds aws.CredentialsProvider) (*StrictEC2, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("strict EC2 proxy target: %w", err)
	}
	if u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("strict EC2 proxy target %q is not an absolute URL", target)
	}
	p := &StrictEC2{target: u, creds: creds, clients: map[string]*ec2.Client{}}
	p.Reset()
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	p.URL = p.srv.URL
	return p, nil
}

// Close stops the proxy.
func (p *StrictEC2) Close() { p.closeOnce.Do(p.srv.Close) }

// SetCredentials changes the credentials the proxy's own look-ups are signed with, such as an
// IAM-enforcing moto's admin keys.
func (p *StrictEC2) SetCredentials(creds aws.CredentialsProvider) {
	p.clientMu.Lock()
	defer p.clientMu.Unlock()
	p.creds = creds
	p.clients = map[string]*ec2.Client{} // clients cache what they were built with
}

// Fired returns how many requests each rule refused or rewrote since the last reset.
func (p *StrictEC2) Fired() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.fired))
	for k, v := range p.fired {
		out[k] = v
	}
	return out
}

// Answers returns how often the rules answered with each error code, or with an empty
// "empty <action>" result, since the last reset.
func (p *StrictEC2) Answers() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.answers)
}

// Reset forgets client tokens, lagging resources and counts, and restores the defaults (no lag,
// DefaultRuleQuota), as moto forgets everything on its own reset.
func (p *StrictEC2) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fired, p.answers, p.lag, p.lagging, p.tokens = map[string]int{}, map[string]int{}, 0, map[lagKey]*lagging{}, map[string]*launch{}
	p.RuleQuota.Store(DefaultRuleQuota)
	p.MetadataTagsByDefault.Store(false)
}

func (p *StrictEC2) count(rule string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fired[rule]++
}

// refusal is an answer the proxy gives instead of moto's.
type refusal struct {
	rule, code, msg string
	emptySet        string // when set, a successful empty answer with this list element
}

// ec2Call is one EC2 request as the proxy sees it.
type ec2Call struct {
	action, region string
	form           url.Values
}

var scopeRe = regexp.MustCompile(`Credential=[^/,\s]+/\d{8}/([^/]+)/([^/]+)/aws4_request`)

// classify returns the EC2 call a request carries, or nil for anything else.
func classify(r *http.Request, body []byte) *ec2Call {
	if r.Method != http.MethodPost || strings.HasPrefix(r.URL.Path, "/moto-api/") {
		return nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("Action") == "" {
		return nil
	}
	region, service := "us-east-1", ""
	if m := scopeRe.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		region, service = m[1], m[2]
	}
	if service != "ec2" && (service != "" || form.Get("Version") != ec2Version) {
		return nil
	}
	return &ec2Call{action: form.Get("Action"), region: region, form: form}
}

func (p *StrictEC2) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if r.Method == http.MethodPost && r.URL.Path == "/moto-api/reset" {
		status, header, out, err := p.forward(r, body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		if status == http.StatusOK {
			p.Reset()
		}
		reply(w, status, header, out)
		return
	}
	c := classify(r, body)
	if c == nil {
		p.pass(w, r, body)
		return
	}
	if c.action == "AuthorizeSecurityGroupIngress" {
		p.ingressMu.Lock()
		defer p.ingressMu.Unlock()
	}
	ref, err := p.check(r.Context(), c)
	if err != nil {
		strictError(w, http.StatusInternalServerError, "InternalError", "strict EC2 proxy: "+err.Error())
		return
	}
	if ref != nil {
		p.refuse(w, c, ref)
		return
	}
	if token := c.form.Get("ClientToken"); c.action == "RunInstances" && token != "" {
		p.launchOnce(w, r, body, c, token)
		return
	}
	status, header, out, err := p.forward(r, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	p.noteCreated(c, status, out)
	reply(w, status, header, out)
}

// check runs the rules on the request's own parameters before those on what it names, so a
// malformed request is refused without asking moto anything.
func (p *StrictEC2) check(ctx context.Context, c *ec2Call) (*refusal, error) {
	for _, rule := range []func(*ec2Call) *refusal{checkFilterValues, checkClientTokenLength, checkUserDataSize, p.checkMetadataTagKeys} {
		if ref := rule(c); ref != nil {
			return ref, nil
		}
	}
	if ref := p.checkLag(c); ref != nil {
		return ref, nil
	}
	switch c.action {
	case "AuthorizeSecurityGroupIngress":
		return p.checkIngress(ctx, c)
	case "TerminateInstances":
		return p.checkTerminate(ctx, c)
	}
	return nil, nil
}

func (p *StrictEC2) refuse(w http.ResponseWriter, c *ec2Call, ref *refusal) {
	p.count(ref.rule)
	answer := ref.code
	if ref.emptySet != "" {
		answer = "empty " + c.action
	}
	p.mu.Lock()
	p.answers[answer]++
	p.mu.Unlock()
	if ref.emptySet != "" {
		w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
		w.WriteHeader(http.StatusOK)
		_, _ = fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<%[1]sResponse xmlns="http://ec2.amazonaws.com/doc/%[2]s/"><requestId>%[3]s</requestId><%[4]s/></%[1]sResponse>`,
			c.action, ec2Version, requestID(), ref.emptySet)
		return
	}
	strictError(w, http.StatusBadRequest, ref.code, ref.msg)
}

// client returns the proxy's own EC2 client on moto for region.
func (p *StrictEC2) client(region string) *ec2.Client {
	p.clientMu.Lock()
	defer p.clientMu.Unlock()
	c, ok := p.clients[region]
	if !ok {
		c = ec2.New(ec2.Options{Region: region, BaseEndpoint: aws.String(p.target.String()), Credentials: p.creds})
		p.clients[region] = c
	}
	return c
}

// pass forwards a request the proxy has no rule for.
func (p *StrictEC2) pass(w http.ResponseWriter, r *http.Request, body []byte) {
	status, header, out, err := p.forward(r, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	reply(w, status, header, out)
}

// forward sends the request to moto as the client sent it, Host header included: the client's
// signature covers it and an IAM-enforcing moto checks it.
func (p *StrictEC2) forward(r *http.Request, body []byte) (int, http.Header, []byte, error) {
	u := *p.target
	u.Path, u.RawQuery = r.URL.Path, r.URL.RawQuery
	// EC2 completes a request it has received even if the client then gives up; so does moto
	// here, so that a launch whose client timed out is still bound to its client token.
	req, err := http.NewRequestWithContext(context.WithoutCancel(r.Context()), r.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header = r.Header.Clone()
	req.Host = r.Host
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, nil, err
	}
	return resp.StatusCode, resp.Header, out, nil
}

func reply(w http.ResponseWriter, status int, header http.Header, body []byte) {
	for k, vs := range header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// strictError writes an EC2 error answer; unlike ec2Error it escapes the message, which may
// quote a client's tag key.
func strictError(w http.ResponseWriter, status int, code, msg string) {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(msg))
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>`,
		code, b.String(), requestID())
}

func requestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// elementTexts returns the text of every element named name in an XML document.
func elementTexts(doc []byte, name string) []string {
	var out []string
	d := xml.NewDecoder(bytes.NewReader(doc))
	in := false
	for {
		tok, err := d.Token()
		if err != nil {
			return out
		}
		switch t := tok.(type) {
		case xml.StartElement:
			in = t.Name.Local == name
		case xml.CharData:
			if in {
				if s := strings.TrimSpace(string(t)); s != "" && !slices.Contains(out, s) {
					out = append(out, s)
				}
			}
		case xml.EndElement:
			in = false
		}
	}
}

// list returns the values of a query list parameter (name.1, name.2, …) in index order.
func list(form url.Values, name string) []string {
	return valuesMatching(form, regexp.MustCompile(`^`+regexp.QuoteMeta(name)+`\.\d+$`))
}

// valuesMatching returns the values of the keys re matches, in index order.
func valuesMatching(form url.Values, re *regexp.Regexp) []string {
	var out []string
	for _, k := range slices.SortedFunc(maps.Keys(form), compareKeys) {
		if re.MatchString(k) {
			out = append(out, form[k]...)
		}
	}
	return out
}

// compareKeys orders query keys by their dotted segments, numbers numerically, so that
// "Value.10" follows "Value.9" as the client sent them.
func compareKeys(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		if as[i] == bs[i] {
			continue
		}
		an, aerr := strconv.Atoi(as[i])
		bn, berr := strconv.Atoi(bs[i])
		if aerr == nil && berr == nil {
			return cmp.Compare(an, bn)
		}
		return strings.Compare(as[i], bs[i])
	}
	return cmp.Compare(len(as), len(bs))
}
