// Package acctest is the acceptance test bed: a moto server on 127.0.0.1 for the test binary,
// an AWS environment that can reach nothing else, and HCL helpers pointing the provider at it.
package acctest
