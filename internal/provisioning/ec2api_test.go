package provisioning

import (
	"reflect"
	"testing"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/iampolicy"
)

// TestEC2API_declaredInIAMRegistry keeps the emitted IAM policy honest: every EC2 call the
// client can make is declared in the iampolicy registry for the base flow.
func TestEC2API_declaredInIAMRegistry(t *testing.T) {
	api := reflect.TypeOf((*EC2API)(nil)).Elem()
	if api.NumMethod() == 0 {
		t.Fatal("EC2API has no methods")
	}
	for i := range api.NumMethod() {
		name := "ec2:" + api.Method(i).Name
		if _, err := iampolicy.Lookup(iampolicy.Base, name); err != nil {
			t.Errorf("%v", err)
		}
	}
}
