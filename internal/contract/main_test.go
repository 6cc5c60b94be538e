package contract

import (
	"os"
	"testing"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/acctest"
)

func TestMain(m *testing.M) {
	os.Exit(acctest.Main(m))
}
