package acctest

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

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
