package acctest

import (
	"net/http"
	"net/url"
)

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
