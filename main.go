// Command terraform-provider-ec2k8s is the ec2k8s Terraform provider plugin.
package main

import (
	"context"
	"flag"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/provider"
)

// version is set by goreleaser at release time.
var version = "dev"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.Parse()

	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address: "registry.terraform.io/ec2k8s/ec2k8s",
		Debug:   debug,
	})
	if err != nil {
		log.Fatal(err)
	}
}
