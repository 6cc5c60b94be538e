package acctest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
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
	lag     int
	lagging map[lagKey]*lagging
	tokens  map[string]*launch // by region and client token
}

// launch is one RunInstances client token: the parameters it came with and, once moto
// answered, that answer.
type launch struct {
	params string
	done   chan struct{}
	ok     bool
	status int
	header http.Header
	body   []byte
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

// Reset forgets client tokens, lagging resources and counts, and restores the defaults (no lag,
// DefaultRuleQuota), as moto forgets everything on its own reset.
func (p *StrictEC2) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fired, p.lag, p.lagging, p.tokens = map[string]int{}, 0, map[lagKey]*lagging{}, map[string]*launch{}
	p.RuleQuota.Store(DefaultRuleQuota)
}

// SetLag makes every security group, key pair and instance created through the proxy from now
// on invisible to the next n requests that name it (0 turns lag off).
func (p *StrictEC2) SetLag(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lag = n
}

// Hide makes an existing resource invisible to the next n requests that name it, as if it had
// just been created (0 shows it again). An ID says its type (i-, sg-, key-); a bare name hides
// the security groups and the key pair of that name.
func (p *StrictEC2) Hide(idOrName string, n int) {
	kinds := []string{lagGroup, lagKeyPair}
	switch {
	case strings.HasPrefix(idOrName, "i-"):
		kinds = []string{lagInstance}
	case strings.HasPrefix(idOrName, "sg-"):
		kinds = []string{lagGroup}
	case strings.HasPrefix(idOrName, "key-"):
		kinds = []string{lagKeyPair}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, kind := range kinds {
		if l := p.lagging[lagKey{kind, idOrName}]; l != nil {
			p.unlag(l)
		}
		if n > 0 {
			p.addLagging(kind, n, idOrName)
		}
	}
}

// The types of resource that can lag.
const (
	lagInstance = "instance"
	lagGroup    = "security-group"
	lagKeyPair  = "key-pair"
)

// lagging is one resource EC2 does not show yet, known by its ID and, for groups and key
// pairs, its name: the requests naming it by either count down the same invisibility.
type lagging struct {
	kind      string
	aliases   []string
	remaining int
}

type lagKey struct{ kind, alias string }

// addLagging registers a resource; the caller holds p.mu.
func (p *StrictEC2) addLagging(kind string, n int, aliases ...string) {
	l := &lagging{kind: kind, remaining: n}
	for _, a := range aliases {
		if a != "" {
			l.aliases = append(l.aliases, a)
			p.lagging[lagKey{kind, a}] = l
		}
	}
}

// unlag forgets a resource; the caller holds p.mu.
func (p *StrictEC2) unlag(l *lagging) {
	for _, a := range l.aliases {
		if p.lagging[lagKey{l.kind, a}] == l {
			delete(p.lagging, lagKey{l.kind, a})
		}
	}
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
	for _, rule := range []func(*ec2Call) *refusal{checkFilterValues, checkClientTokenLength, checkUserDataSize, checkMetadataTagKeys} {
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
	if ref.emptySet != "" {
		w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
		w.WriteHeader(http.StatusOK)
		_, _ = fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<%[1]sResponse xmlns="http://ec2.amazonaws.com/doc/%[2]s/"><requestId>%[3]s</requestId><%[4]s/></%[1]sResponse>`,
			c.action, ec2Version, requestID(), ref.emptySet)
		return
	}
	strictError(w, http.StatusBadRequest, ref.code, ref.msg)
}

// checkFilterValues: EC2 refuses more than 200 values in one filter.
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html (FilterLimitExceeded)
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Filter.html
func checkFilterValues(c *ec2Call) *refusal {
	perFilter := map[string]int{}
	for k := range c.form {
		if m := filterValueRe.FindStringSubmatch(k); m != nil {
			perFilter[m[1]]++
		}
	}
	for n, values := range perFilter {
		if values > 200 {
			return &refusal{rule: RuleFilterValues, code: "FilterLimitExceeded",
				msg: fmt.Sprintf("The maximum number of filter values specified on a single call is 200 (filter %s has %d)", n, values)}
		}
	}
	return nil
}

var filterValueRe = regexp.MustCompile(`^Filter\.(\d+)\.Value\.\d+$`)

// checkClientTokenLength: a client token is at most 64 ASCII characters.
// https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html
func checkClientTokenLength(c *ec2Call) *refusal {
	token := c.form.Get("ClientToken")
	if c.action != "RunInstances" || len(token) <= 64 {
		return nil
	}
	return &refusal{rule: RuleClientToken, code: "InvalidParameterValue",
		msg: fmt.Sprintf("Value (%s) for parameter clientToken is invalid. The client token must be at most 64 ASCII characters; it has %d", token, len(token))}
}

// checkUserDataSize: EC2 limits user data to 16 KB before base64 encoding; moto takes any size.
// https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/user-data.html
func checkUserDataSize(c *ec2Call) *refusal {
	encoded := c.form.Get("UserData")
	if c.action != "RunInstances" || encoded == "" {
		return nil
	}
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return nil // moto has its own answer to bad base64
	}
	if len(raw) <= 16384 {
		return nil
	}
	return &refusal{rule: RuleUserDataSize, code: "InvalidParameterValue",
		msg: fmt.Sprintf("User data is limited to 16384 bytes; this request's user data is %d bytes", len(raw))}
}

// checkMetadataTagKeys: with instance tags in instance metadata, an instance's tag keys become
// path segments, so EC2 allows only letters, digits and + - = . , _ : @, and not ".", ".." or
// "_index".
// https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/work-with-tags-in-IMDS.html
func checkMetadataTagKeys(c *ec2Call) *refusal {
	if c.action != "RunInstances" || c.form.Get("MetadataOptions.InstanceMetadataTags") != "enabled" {
		return nil
	}
	for _, k := range sortedKeys(c.form) {
		m := tagKeyRe.FindStringSubmatch(k)
		if m == nil || c.form.Get("TagSpecification."+m[1]+".ResourceType") != "instance" {
			continue
		}
		key := c.form.Get(k)
		if !metadataTagKeyRe.MatchString(key) || key == "." || key == ".." || key == "_index" {
			return &refusal{rule: RuleMetadataTagKeys, code: "InvalidParameterValue",
				msg: fmt.Sprintf("The tag key '%s' is not allowed while instance metadata tags are enabled: keys may use only letters, digits and + - = . , _ : @, and may not be '.', '..' or '_index'", key)}
		}
	}
	return nil
}

var (
	tagKeyRe         = regexp.MustCompile(`^TagSpecification\.(\d+)\.Tag\.\d+\.Key$`)
	metadataTagKeyRe = regexp.MustCompile(`^[A-Za-z0-9+\-=.,_:@]+$`)
)

// checkLag hides resources created moments ago, as EC2's eventual consistency can: the requests
// that name one fail as if it did not exist, or a Describe by filter finds nothing.
// https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html
func (p *StrictEC2) checkLag(c *ec2Call) *refusal {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.lagging) == 0 {
		return nil
	}
	var named []*lagging // every lagging resource the request names, each counted down once
	hidden := func(kind string, values []string) []string {
		var out []string
		for _, v := range values {
			if l := p.lagging[lagKey{kind, v}]; l != nil {
				out = append(out, v)
				if !slices.Contains(named, l) {
					named = append(named, l)
				}
			}
		}
		return out
	}
	var ref *refusal
	switch c.action {
	case "AuthorizeSecurityGroupIngress":
		if h := hidden(lagGroup, []string{c.form.Get("GroupId"), c.form.Get("GroupName")}); len(h) > 0 {
			ref = groupNotFound(h[0])
		}
	case "RunInstances":
		groups := hidden(lagGroup, valuesMatching(c.form, runGroupRe))
		keys := hidden(lagKeyPair, []string{c.form.Get("KeyName")})
		if len(groups) > 0 {
			ref = groupNotFound(groups[0])
		} else if len(keys) > 0 {
			ref = keyNotFound(keys)
		}
	case "TerminateInstances":
		if h := hidden(lagInstance, list(c.form, "InstanceId")); len(h) > 0 {
			ref = instancesNotFound(h)
		}
	case "CreateTags":
		if h := hidden(lagInstance, list(c.form, "ResourceId")); len(h) > 0 {
			ref = instancesNotFound(h)
		}
	default:
		d, ok := lagDescribes[c.action]
		if !ok {
			return nil
		}
		for _, byID := range d.byID {
			if h := hidden(d.kind, list(c.form, byID)); len(h) > 0 && ref == nil {
				ref = d.notFound(h)
			}
		}
		if h := hidden(d.kind, valuesMatching(c.form, filterValueRe)); len(h) > 0 && ref == nil {
			ref = &refusal{emptySet: d.emptySet}
		}
	}
	if ref == nil {
		return nil
	}
	for _, l := range named {
		if l.remaining--; l.remaining <= 0 {
			p.unlag(l)
		}
	}
	ref.rule = RuleLag
	return ref
}

// runGroupRe matches the RunInstances parameters naming a security group, by ID or name.
var runGroupRe = regexp.MustCompile(`^(SecurityGroupId\.\d+|SecurityGroup\.\d+|NetworkInterface\.\d+\.SecurityGroupId\.\d+)$`)

// lagDescribes are the Describe actions on the types of resource that lag. Naming a resource
// EC2 does not show yet in their ID or name lists is an error, as for any unknown ID; naming it
// in a filter finds nothing.
var lagDescribes = map[string]struct {
	kind     string
	byID     []string
	notFound func([]string) *refusal
	emptySet string // the list element of the answer
}{
	"DescribeInstances":          {lagInstance, []string{"InstanceId"}, instancesNotFound, "reservationSet"},
	"DescribeInstanceStatus":     {lagInstance, []string{"InstanceId"}, instancesNotFound, "instanceStatusSet"},
	"DescribeSecurityGroups":     {lagGroup, []string{"GroupId", "GroupName"}, firstGroupNotFound, "securityGroupInfo"},
	"DescribeSecurityGroupRules": {lagGroup, nil, nil, "securityGroupRuleSet"},
	"DescribeKeyPairs":           {lagKeyPair, []string{"KeyName", "KeyPairId"}, keyNotFound, "keySet"},
	"DescribeTags":               {lagInstance, nil, nil, "tagSet"},
}

func groupNotFound(g string) *refusal {
	return &refusal{code: "InvalidGroup.NotFound", msg: fmt.Sprintf("The security group '%s' does not exist", g)}
}

func firstGroupNotFound(gs []string) *refusal { return groupNotFound(gs[0]) }

func keyNotFound(ks []string) *refusal {
	return &refusal{code: "InvalidKeyPair.NotFound", msg: fmt.Sprintf("The key pair '%s' does not exist", ks[0])}
}

func instancesNotFound(ids []string) *refusal {
	msg := fmt.Sprintf("The instance ID '%s' does not exist", ids[0])
	if len(ids) > 1 {
		msg = fmt.Sprintf("The instance IDs '%s' do not exist", strings.Join(ids, ", "))
	}
	return &refusal{code: "InvalidInstanceID.NotFound", msg: msg}
}

// noteCreated registers what a successful create made as lagging, while lag is on.
func (p *StrictEC2) noteCreated(c *ec2Call, status int, body []byte) {
	if status != http.StatusOK {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lag <= 0 {
		return
	}
	switch c.action {
	case "CreateSecurityGroup":
		p.addLagging(lagGroup, p.lag, append(elementTexts(body, "groupId"), c.form.Get("GroupName"))...)
	case "ImportKeyPair":
		p.addLagging(lagKeyPair, p.lag, append(elementTexts(body, "keyPairId"), c.form.Get("KeyName"))...)
	case "RunInstances":
		for _, id := range elementTexts(body, "instanceId") {
			p.addLagging(lagInstance, p.lag, id)
		}
	}
}

// permission is one inbound rule: a protocol, a port range and one source. EC2 compares rules
// this way; descriptions do not count.
type permission struct {
	proto    string // normalised: tcp, udp, icmp, icmpv6, -1 or a protocol number
	from, to int32  // -1 where the protocol has no ports
	kind     string // cidr, cidr6, group or prefix-list
	peer     string
}

func (r permission) String() string {
	var what string
	switch r.proto {
	case "-1":
		what = "ALL"
	case "tcp", "udp":
		what = fmt.Sprintf("%s, from port: %d, to port: %d", strings.ToUpper(r.proto), r.from, r.to)
	case "icmp", "icmpv6":
		what = fmt.Sprintf("%s, type: %d, code: %d", strings.ToUpper(r.proto), r.from, r.to)
	default:
		what = r.proto
	}
	return fmt.Sprintf("peer: %s, %s, ALLOW", r.peer, what)
}

// families returns how many IPv4 and IPv6 rules r counts for against the quota.
func (r permission) families() (v4, v6 int) {
	switch r.kind {
	case "cidr6":
		return 0, 1
	case "group":
		return 1, 1
	default:
		// EC2 counts a prefix list as its maximum entries; one is near enough here, as the
		// provider never references prefix lists.
		return 1, 0
	}
}

var protocolNames = map[string]string{"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6", "all": "-1"}

func newPermission(proto string, from, to *int32, kind, peer string) permission {
	proto = strings.ToLower(proto)
	if name, ok := protocolNames[proto]; ok {
		proto = name
	}
	r := permission{proto: proto, from: -1, to: -1, kind: kind, peer: peer}
	switch proto {
	case "tcp", "udp", "icmp", "icmpv6": // for any other protocol EC2 ignores ports
		if from != nil {
			r.from = *from
		}
		if to != nil {
			r.to = *to
		}
	}
	if kind == "cidr" || kind == "cidr6" {
		if prefix, err := netip.ParsePrefix(peer); err == nil {
			r.peer = prefix.Masked().String()
		}
	}
	return r
}

var ingressSourceRe = regexp.MustCompile(`^IpPermissions\.(\d+)\.(IpRanges\.\d+\.CidrIp|Ipv6Ranges\.\d+\.CidrIpv6|Groups\.\d+\.GroupId|Groups\.\d+\.GroupName|PrefixListIds\.\d+\.PrefixListId)$`)

// requestedPermissions expands an AuthorizeSecurityGroupIngress request into one permission
// per source, in request order.
func requestedPermissions(form url.Values) []permission {
	port := func(key string) *int32 {
		n, err := strconv.ParseInt(form.Get(key), 10, 32)
		if err != nil {
			return nil
		}
		v := int32(n)
		return &v
	}
	kinds := map[string]string{"CidrIp": "cidr", "CidrIpv6": "cidr6", "GroupId": "group", "GroupName": "group", "PrefixListId": "prefix-list"}
	var out []permission
	for _, key := range sortedKeys(form) {
		m := ingressSourceRe.FindStringSubmatch(key)
		if m == nil {
			continue
		}
		field := m[2][strings.LastIndex(m[2], ".")+1:]
		if field == "GroupName" && form.Get(strings.TrimSuffix(key, "GroupName")+"GroupId") != "" {
			continue // the ID names the same group
		}
		n := "IpPermissions." + m[1] + "."
		out = append(out, newPermission(form.Get(n+"IpProtocol"), port(n+"FromPort"), port(n+"ToPort"), kinds[field], form.Get(key)))
	}
	// The flat form of the API: one protocol and port range with a CIDR or a named group.
	if proto := form.Get("IpProtocol"); proto != "" {
		if cidr := form.Get("CidrIp"); cidr != "" {
			out = append(out, newPermission(proto, port("FromPort"), port("ToPort"), "cidr", cidr))
		}
		if g := form.Get("SourceSecurityGroupName"); g != "" {
			out = append(out, newPermission(proto, port("FromPort"), port("ToPort"), "group", g))
		}
	}
	return out
}

func existingPermissions(perms []types.IpPermission) []permission {
	var out []permission
	for _, ip := range perms {
		proto := aws.ToString(ip.IpProtocol)
		for _, r := range ip.IpRanges {
			out = append(out, newPermission(proto, ip.FromPort, ip.ToPort, "cidr", aws.ToString(r.CidrIp)))
		}
		for _, r := range ip.Ipv6Ranges {
			out = append(out, newPermission(proto, ip.FromPort, ip.ToPort, "cidr6", aws.ToString(r.CidrIpv6)))
		}
		for _, g := range ip.UserIdGroupPairs {
			peer := aws.ToString(g.GroupId)
			if peer == "" {
				peer = aws.ToString(g.GroupName)
			}
			out = append(out, newPermission(proto, ip.FromPort, ip.ToPort, "group", peer))
		}
		for _, pl := range ip.PrefixListIds {
			out = append(out, newPermission(proto, ip.FromPort, ip.ToPort, "prefix-list", aws.ToString(pl.PrefixListId)))
		}
	}
	return out
}

// checkIngress applies EC2's rules for one AuthorizeSecurityGroupIngress request, which EC2
// takes whole or not at all; moto adds the rules one by one and stops at the first duplicate,
// keeping those before it.
func (p *StrictEC2) checkIngress(ctx context.Context, c *ec2Call) (*refusal, error) {
	requested := requestedPermissions(c.form)
	if ref := checkIngressRepeated(requested); ref != nil {
		return ref, nil
	}
	group, err := p.securityGroup(ctx, c)
	if err != nil || group == nil {
		return nil, err // moto answers for a group it does not have
	}
	existing := existingPermissions(group.IpPermissions)
	if ref := checkIngressDuplicate(requested, existing); ref != nil {
		return ref, nil
	}
	return checkIngressQuota(requested, existing, int(p.RuleQuota.Load())), nil
}

// checkIngressRepeated: one request may not name the same permission twice.
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_AuthorizeSecurityGroupIngress.html
func checkIngressRepeated(requested []permission) *refusal {
	seen := map[permission]bool{}
	for _, r := range requested {
		if seen[r] {
			return &refusal{rule: RuleIngressRepeated, code: "InvalidParameterValue",
				msg: fmt.Sprintf("The same permission must not appear multiple times (%s)", r)}
		}
		seen[r] = true
	}
	return nil
}

// checkIngressDuplicate: a rule the group already has fails the whole request.
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html (InvalidPermission.Duplicate)
func checkIngressDuplicate(requested, existing []permission) *refusal {
	have := map[permission]bool{}
	for _, r := range existing {
		have[r] = true
	}
	for _, r := range requested {
		if have[r] {
			return &refusal{rule: RuleIngressDuplicate, code: "InvalidPermission.Duplicate",
				msg: fmt.Sprintf("the specified rule %q already exists", r.String())}
		}
	}
	return nil
}

// checkIngressQuota: EC2 counts inbound rules per address family against the quota, a rule
// whose source is a group once for each family; moto counts both families together.
// https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html
func checkIngressQuota(requested, existing []permission, quota int) *refusal {
	var v4, v6 int
	for _, r := range append(append([]permission(nil), existing...), requested...) {
		a, b := r.families()
		v4, v6 = v4+a, v6+b
	}
	if v4 <= quota && v6 <= quota {
		return nil
	}
	return &refusal{rule: RuleIngressQuota, code: "RulesPerSecurityGroupLimitExceeded",
		msg: "The maximum number of rules per security group has been reached."}
}

// securityGroup asks moto for the group an ingress request names; nil when moto has none.
func (p *StrictEC2) securityGroup(ctx context.Context, c *ec2Call) (*types.SecurityGroup, error) {
	in := &ec2.DescribeSecurityGroupsInput{}
	if id := c.form.Get("GroupId"); id != "" {
		in.GroupIds = []string{id}
	} else if name := c.form.Get("GroupName"); name != "" {
		in.GroupNames = []string{name}
	} else {
		return nil, nil
	}
	out, err := p.client(c.region).DescribeSecurityGroups(ctx, in)
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && strings.HasPrefix(apiErr.ErrorCode(), "InvalidGroup") {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("asking moto for the security group: %w", err)
	}
	if len(out.SecurityGroups) == 0 {
		return nil, nil
	}
	return &out.SecurityGroups[0], nil
}

// checkTerminate: EC2 terminates all the instances named or, when one ID is unknown, none.
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_TerminateInstances.html ("If you
// specify multiple instances and the request fails (for example, because of a single incorrect
// instance ID), none of the instances are terminated.")
func (p *StrictEC2) checkTerminate(ctx context.Context, c *ec2Call) (*refusal, error) {
	ids := list(c.form, "InstanceId")
	if len(ids) == 0 {
		return nil, nil
	}
	known, err := p.knownInstances(ctx, c.region, ids)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, id := range ids {
		if !known[id] && !contains(missing, id) {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return nil, nil
	}
	ref := instancesNotFound(missing)
	ref.rule = RuleTerminateUnknown
	return ref, nil
}

// knownInstances returns which of ids moto has, in any state, asking by filter (which answers
// for the IDs it finds instead of failing on the others) in chunks within EC2's 200-value limit.
func (p *StrictEC2) knownInstances(ctx context.Context, region string, ids []string) (map[string]bool, error) {
	known := map[string]bool{}
	for start := 0; start < len(ids); start += 200 {
		chunk := ids[start:min(start+200, len(ids))]
		pages := ec2.NewDescribeInstancesPaginator(p.client(region), &ec2.DescribeInstancesInput{
			Filters: []types.Filter{{Name: aws.String("instance-id"), Values: chunk}}})
		for pages.HasMorePages() {
			out, err := pages.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("asking moto for instances: %w", err)
			}
			for _, r := range out.Reservations {
				for _, i := range r.Instances {
					known[aws.ToString(i.InstanceId)] = true
				}
			}
		}
	}
	return known, nil
}

// launchOnce gives RunInstances EC2's client-token idempotency, which moto lacks: a repeat of a
// successful launch gets the first answer and launches nothing; the same token with other
// parameters is refused. Tokens are per region, as in EC2.
// https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html
func (p *StrictEC2) launchOnce(w http.ResponseWriter, r *http.Request, body []byte, c *ec2Call, token string) {
	params := withoutClientToken(c.form)
	key := c.region + "\x00" + token
	for {
		p.mu.Lock()
		l := p.tokens[key]
		if l == nil {
			l = &launch{params: params, done: make(chan struct{})}
			p.tokens[key] = l
			p.mu.Unlock()
			p.firstLaunch(w, r, body, c, key, l)
			return
		}
		p.mu.Unlock()
		select {
		case <-l.done:
		case <-r.Context().Done():
			return
		}
		if !l.ok {
			continue // the first attempt failed and forgot the token
		}
		if l.params != params {
			p.refuse(w, c, &refusal{rule: RuleClientToken, code: "IdempotentParameterMismatch",
				msg: "Arguments on this idempotent request are inconsistent with arguments used in previous request(s)."})
			return
		}
		p.count(RuleClientTokenReplay)
		reply(w, l.status, l.header, l.body)
		return
	}
}

func (p *StrictEC2) firstLaunch(w http.ResponseWriter, r *http.Request, body []byte, c *ec2Call, key string, l *launch) {
	status, header, out, err := p.forward(r, body)
	// Only a completed launch binds its token; after a failure EC2 lets the client try again.
	p.mu.Lock()
	if err == nil && status == http.StatusOK {
		l.ok, l.status, l.header, l.body = true, status, header, out
	} else if p.tokens[key] == l {
		delete(p.tokens, key)
	}
	p.mu.Unlock()
	close(l.done)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	p.noteCreated(c, status, out)
	reply(w, status, header, out)
}

func withoutClientToken(form url.Values) string {
	rest := url.Values{}
	for k, v := range form {
		if k != "ClientToken" {
			rest[k] = v
		}
	}
	return rest.Encode() // sorted by key, so parameter order does not matter
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
				if s := strings.TrimSpace(string(t)); s != "" && !contains(out, s) {
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
	for _, k := range sortedKeys(form) {
		if re.MatchString(k) {
			out = append(out, form[k]...)
		}
	}
	return out
}

// sortedKeys orders query keys by their dotted segments, numbers numerically, so that
// "Value.10" follows "Value.9" as the client sent them.
func sortedKeys(form url.Values) []string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keyLess(keys[i], keys[j]) })
	return keys
}

func keyLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		if as[i] == bs[i] {
			continue
		}
		an, aerr := strconv.Atoi(as[i])
		bn, berr := strconv.Atoi(bs[i])
		if aerr == nil && berr == nil {
			return an < bn
		}
		return as[i] < bs[i]
	}
	return len(as) < len(bs)
}
