// Package awsclient turns the provider's endpoint and retry settings plus a credential (static
// keys, profile, assumed role or the SDK's default chain) into AWS SDK clients, without touching
// the network until a client is used. It also asks STS who a credential is (Identity), counts
// the calls and attempts a client makes (CallCounter), and checks the format of credential
// settings (validate.go).
package awsclient
