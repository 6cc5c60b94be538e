// Package awsclient turns the provider's endpoint and retry settings plus a credential into
// AWS SDK clients, without touching the network until a client is used.
package awsclient
