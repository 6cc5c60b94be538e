package provisioning

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/iampolicy"
)

// TestEC2API_matchesIAMRegistry keeps the emitted IAM policy honest in both directions: every
// EC2 call the client can make is declared in the iampolicy registry for the base flow, and
// every base EC2 action the registry declares as called is a call of the client.
func TestEC2API_matchesIAMRegistry(t *testing.T) {
	api := reflect.TypeOf((*EC2API)(nil)).Elem()
	if api.NumMethod() == 0 {
		t.Fatal("EC2API has no methods")
	}
	methods := map[string]bool{}
	for i := range api.NumMethod() {
		name := "ec2:" + api.Method(i).Name
		methods[name] = true
		if _, err := iampolicy.Lookup(iampolicy.Base, name); err != nil {
			t.Errorf("%v", err)
		}
	}
	for _, a := range iampolicy.Actions() {
		if a.Feature != iampolicy.Base || !strings.HasPrefix(a.Name, "ec2:") || a.SeedOnly {
			continue
		}
		if !methods[a.Name] {
			t.Errorf("the registry says the client calls %s, but EC2API has no such method: mark it SeedOnly or remove it", a.Name)
		}
	}
}
