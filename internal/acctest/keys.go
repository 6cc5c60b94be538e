package acctest

import (
	"bytes"
	"crypto/ed25519"
	"strings"

	"golang.org/x/crypto/ssh"
)

// PublicKey is an ed25519 public key as one authorized_keys line (with comment), made from
// seed: tests that need a key pair get a stable key without keeping a private one.
func PublicKey(seed byte, comment string) string {
	pub := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize)).Public().(ed25519.PublicKey)
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		panic(err) // NO-OP: an ed25519 key always converts
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))) + " " + comment
}
