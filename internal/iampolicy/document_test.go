package iampolicy

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// seedDir holds the seed's three IAM policies, byte for byte (see testdata/README.md).
func seedDir(t *testing.T) string {
	t.Helper()
	d := filepath.Join("testdata")
	if _, err := os.Stat(filepath.Join(d, "basic.json")); err != nil {
		t.Fatalf("seed policies not found: %v", err)
	}
	return d
}

// normalize is Canonical that fails the test on error.
func normalize(t *testing.T, doc string) []string {
	t.Helper()
	c, err := Canonical(doc)
	if err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	return c
}

// seed returns a seed policy with its placeholders filled in.
func seed(t *testing.T, file string, p Params, role, key string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(seedDir(t), file))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.NewReplacer(
		"REGION", p.Region,
		"AWS_ACCOUNT_ID", p.AccountID,
		"YOUR_ROLE_NAME", role,
		"KMS_KEY_ID", key,
	).Replace(string(b))
	if p.Partition != "" && p.Partition != "aws" {
		s = strings.ReplaceAll(s, "arn:aws:", "arn:"+p.Partition+":")
	}
	return s
}

func render(t *testing.T, d Document) Rendered {
	t.Helper()
	r, err := d.Render()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestBuild_equalsSeed(t *testing.T) {
	const role, key = "k8s-node", "1234abcd-12ab-34cd-56ef-1234567890ab"
	for _, p := range []Params{
		{Region: "us-west-2", AccountID: "123456789012"},
		{Region: "eu-central-1", AccountID: "000000000042", Partition: "aws"},
		{Region: "cn-north-1", AccountID: "210987654321"},
		{Region: "us-gov-west-1", AccountID: "111122223333", Partition: "aws-us-gov"},
		{Region: "*", AccountID: "*"},
	} {
		t.Run(p.Region+"/"+p.AccountID, func(t *testing.T) {
			if p.Partition == "" {
				p.Partition = PartitionForRegion(p.Region)
			}
			cases := []struct {
				name       string
				params     Params
				provision  string
				encryption string
			}{
				{"basic", p, "basic.json", ""},
				{"passrole", withRoles(p, role), "passrole.json", ""},
				{"ebs", withKeys(p, key), "basic.json", "ebs-encryption.json"},
				{"passrole+ebs", withKeys(withRoles(p, role), key), "passrole.json", "ebs-encryption.json"},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					docs, err := Build(tc.params)
					if err != nil {
						t.Fatalf("Build: %v", err)
					}
					want := normalize(t, seed(t, tc.provision, p, role, key))
					assertStatements(t, "provisioning", normalize(t, render(t, docs.Provisioning).JSON), want)
					assertStatements(t, "provisioning (minified)", normalize(t, render(t, docs.Provisioning).Minified), want)
					combined := want
					if tc.encryption == "" {
						if docs.EBSEncryption != nil {
							t.Errorf("EBSEncryption = %+v; want nil without keys", docs.EBSEncryption)
						}
					} else {
						if docs.EBSEncryption == nil {
							t.Fatal("EBSEncryption = nil; want the seed's document")
						}
						ebs := normalize(t, seed(t, tc.encryption, p, role, key))
						assertStatements(t, "ebs_encryption", normalize(t, render(t, *docs.EBSEncryption).JSON), ebs)
						combined = append(append([]string(nil), want...), ebs...)
						slices.Sort(combined)
					}
					assertStatements(t, "combined", normalize(t, render(t, docs.Combined).JSON), combined)
				})
			}
		})
	}
}

func withRoles(p Params, r ...string) Params { p.PassRoles = r; return p }
func withKeys(p Params, k ...string) Params  { p.KMSKeys = k; return p }

func assertStatements(t *testing.T, what string, got, want []string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s statements differ from the seed\n got: %v\nwant: %v", what, got, want)
	}
}

// TestNormalize_detectsChanges proves the comparison above is not blind: a seed with one action,
// one resource or the effect changed no longer matches what Build emits.
func TestNormalize_detectsChanges(t *testing.T) {
	p := Params{Region: "us-west-2", AccountID: "123456789012", Partition: "aws"}
	docs, err := Build(p)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(normalize(t, render(t, docs.Provisioning).JSON))
	base := seed(t, "basic.json", p, "", "")
	for _, mutate := range []struct{ from, to string }{
		{`"ec2:DeleteKeyPair"`, `"ec2:DeleteKeyPairs"`},
		{`"ec2:StopInstances"`, `"ec2:StopInstances", "ec2:ModifyInstanceAttribute"`},
		{`:subnet/*"`, `:vpc/*"`},
		{`"Effect": "Allow"`, `"Effect": "Deny"`},
	} {
		changed := strings.Replace(base, mutate.from, mutate.to, 1)
		if changed == base {
			t.Fatalf("mutation %q not applied: the seed changed shape", mutate.from)
		}
		if fmt.Sprint(normalize(t, changed)) == got {
			t.Errorf("replacing %s with %s in the seed still compares equal", mutate.from, mutate.to)
		}
	}
}

func TestBuild_deterministicAndWellFormed(t *testing.T) {
	p := Params{Region: "us-west-2", AccountID: "123456789012",
		PassRoles: []string{"zeta", "alpha", "arn:aws:iam::123456789012:role/path/to/mid"},
		KMSKeys:   []string{"mrk-0123456789abcdef0123456789abcdef", "1234abcd-12ab-34cd-56ef-1234567890ab"}}
	first, err := Build(p)
	if err != nil {
		t.Fatal(err)
	}
	firstJSON := render(t, first.Combined).JSON
	p.PassRoles = []string{p.PassRoles[2], p.PassRoles[0], p.PassRoles[1]}
	p.KMSKeys = []string{p.KMSKeys[1], p.KMSKeys[0]}
	again, err := Build(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := render(t, again.Combined).JSON; got != firstJSON {
		t.Errorf("input order changed the output:\n%s\n---\n%s", firstJSON, got)
	}
	sidRe := regexp.MustCompile(`^[A-Za-z0-9]+$`)
	seen := map[string]bool{}
	for _, s := range first.Combined.Statement {
		if !sidRe.MatchString(s.Sid) {
			t.Errorf("Sid %q is not alphanumeric", s.Sid)
		}
		if seen[s.Sid] {
			t.Errorf("Sid %q is repeated", s.Sid)
		}
		seen[s.Sid] = true
		for _, list := range [][]string{s.Action, s.Resource} {
			if !slices.IsSorted(list) {
				t.Errorf("statement %s lists %v unsorted", s.Sid, list)
			}
		}
	}
	for _, want := range []string{
		`"arn:aws:iam::123456789012:role/alpha"`,
		`"arn:aws:iam::123456789012:role/path/to/mid"`,
		`"arn:aws:kms:us-west-2:123456789012:key/mrk-0123456789abcdef0123456789abcdef"`,
	} {
		if !strings.Contains(firstJSON, want) {
			t.Errorf("combined document lacks %s:\n%s", want, firstJSON)
		}
	}
	r := render(t, first.Provisioning)
	if strings.ContainsAny(r.Minified, " \n\t") {
		t.Errorf("Minified has white space: %s", r.Minified)
	}
	if r.Size != len(r.Minified) {
		t.Errorf("Size = %d; want %d", r.Size, len(r.Minified))
	}
}

func TestBuild_sizeLimit(t *testing.T) {
	var roles []string
	for i := 0; len(roles) < 200; i++ {
		roles = append(roles, fmt.Sprintf("node-role-with-a-long-name-%03d", i))
	}
	_, err := Build(Params{Region: "us-west-2", AccountID: "123456789012", PassRoles: roles})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Build with 200 roles: err = %v; want ErrTooLarge", err)
	}
	if !strings.Contains(err.Error(), "6144") {
		t.Errorf("error %q does not name the limit", err)
	}
	if _, err := Build(Params{Region: "us-west-2", AccountID: "123456789012", PassRoles: roles[:20]}); err != nil {
		t.Errorf("Build with 20 roles: %v", err)
	}
}

func TestBuild_rejectsInconsistentInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Params
		want string
	}{
		{"partition vs region", Params{Region: "cn-north-1", AccountID: "123456789012", Partition: "aws"}, `region "cn-north-1" is in partition "aws-cn"`},
		{"role ARN partition", Params{Region: "us-west-2", AccountID: "123456789012", PassRoles: []string{"arn:aws-cn:iam::123456789012:role/x"}}, `is in partition "aws-cn", not "aws"`},
		{"key ARN region", Params{Region: "us-west-2", AccountID: "123456789012", KMSKeys: []string{"arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"}}, `only use keys from their own region`},
		{"bad account", Params{Region: "us-west-2", AccountID: "1234"}, "account_id:"},
		{"bad region", Params{Region: "uswest2", AccountID: "123456789012"}, "region:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Build(tc.p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Build(%+v) error = %v; want it to contain %q", tc.p, err, tc.want)
			}
		})
	}
}

func TestCanonical(t *testing.T) {
	a := `{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":["b","a","a"],"Resource":"*"},{"Effect":"Deny","Action":"c","Resource":["y","x"]}]}`
	b := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["c"],"Resource":["x","y"]},{"Sid":"Other","Effect":"Allow","Action":["a","b"],"Resource":["*"]}]}`
	ca, cb := normalize(t, a), normalize(t, b)
	if strings.Join(ca, "|") != strings.Join(cb, "|") {
		t.Errorf("Canonical differs for equivalent documents:\n%v\n%v", ca, cb)
	}
	for _, bad := range []string{`{`, `{"Version":"2008-10-17","Statement":[]}`, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":1,"Resource":"*"}]}`} {
		if _, err := Canonical(bad); err == nil {
			t.Errorf("Canonical(%s) accepted a bad document", bad)
		}
	}
}

func TestCheck_skipsUnknownFields(t *testing.T) {
	// Region unknown at plan time: the role ARN cannot be checked against a partition yet, but
	// a malformed account still is.
	errs := Params{AccountID: "12", PassRoles: []string{"arn:aws-cn:iam::123456789012:role/x"}}.Check()
	if len(errs) != 1 || errs[0].Field != "account_id" {
		t.Errorf("Check = %v; want one account_id error", errs)
	}
	if errs := (Params{}).Check(); len(errs) != 0 {
		t.Errorf("Check of an all-unknown config = %v; want none", errs)
	}
}
