package bootstrap

import (
	"crypto/ed25519"
	"encoding/pem"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/ssh"
)

// SSHKey is an ed25519 key pair in OpenSSH formats.
type SSHKey struct {
	// AuthorizedKey is the public key as one authorized_keys line, without a newline.
	AuthorizedKey string
	// PrivateKeyPEM is the private key as an "OPENSSH PRIVATE KEY" PEM block.
	PrivateKeyPEM string
}

// NewSSHKey generates an ed25519 key pair from rand (crypto/rand.Reader in production).
func NewSSHKey(rand io.Reader, comment string) (SSHKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand)
	if err != nil {
		return SSHKey{}, fmt.Errorf("generating ed25519 key: %w", err)
	}
	return encodeSSHKey(pub, priv, comment)
}

// PublicFromPrivate returns the authorized_keys line of a private key made by NewSSHKey.
func PublicFromPrivate(privatePEM string) (string, error) {
	signer, err := ssh.ParsePrivateKey([]byte(privatePEM))
	if err != nil {
		return "", fmt.Errorf("parsing SSH private key: %w", err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))), nil
}

func encodeSSHKey(pub ed25519.PublicKey, priv ed25519.PrivateKey, comment string) (SSHKey, error) {
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return SSHKey{}, fmt.Errorf("encoding SSH public key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return SSHKey{}, fmt.Errorf("encoding SSH private key: %w", err)
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub)))
	if comment != "" {
		line += " " + comment
	}
	return SSHKey{AuthorizedKey: line, PrivateKeyPEM: string(pem.EncodeToMemory(block))}, nil
}
