package provisioning

import (
	"bytes"
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/crypto/ssh"
)

// EnsureKeyPair makes the pool's key pair hold p.PublicKey: imported when missing, replaced
// when it holds another key, deleted when the pool has no key any more. Running nodes keep the
// key they booted with; new nodes get the new one. One DescribeKeyPairs when nothing changes.
func (c *Client) EnsureKeyPair(ctx context.Context, p Pool) error {
	name := KeyPairName(p.Cluster, p.Name)
	out, err := c.EC2.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{
		Filters:          []types.Filter{{Name: aws.String("key-name"), Values: []string{name}}},
		IncludePublicKey: aws.Bool(true),
	})
	if err != nil {
		return fmt.Errorf("looking up key pair %s of %s: %w", name, p.ID(), err)
	}
	deleted := false
	if len(out.KeyPairs) > 0 {
		if p.PublicKey != "" && sameKey(aws.ToString(out.KeyPairs[0].PublicKey), p.PublicKey) {
			return nil
		}
		if err := c.DeleteKeyPair(ctx, name); err != nil {
			return err
		}
		deleted = true
		c.progress("deleted key pair", map[string]any{"pool": p.ID(), "key_pair": name})
	}
	if p.PublicKey == "" {
		return nil
	}
	importKey := func() error {
		_, err := c.EC2.ImportKeyPair(ctx, &ec2.ImportKeyPairInput{
			KeyName:           aws.String(name),
			PublicKeyMaterial: []byte(p.PublicKey),
			TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeKeyPair, Tags: ec2Tags(map[string]string{
				TagCluster: p.Cluster, TagPool: p.Name, ClusterTag(p.Cluster): "owned",
			})}},
		})
		return err
	}
	if deleted {
		// Right after the delete EC2 may still know the old key pair (eventual consistency):
		// a duplicate then means "not yet", not "someone else's key".
		err = c.retryOn(ctx, []string{codeKeyPairDuplicate}, importKey)
	} else {
		err = importKey()
	}
	if isCode(err, codeKeyPairDuplicate) {
		// Made meanwhile by someone else (or never gone): fine only if it holds this key.
		again, derr := c.EC2.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{
			Filters:          []types.Filter{{Name: aws.String("key-name"), Values: []string{name}}},
			IncludePublicKey: aws.Bool(true),
		})
		if derr == nil && len(again.KeyPairs) > 0 && sameKey(aws.ToString(again.KeyPairs[0].PublicKey), p.PublicKey) {
			return nil
		}
		return fmt.Errorf("key pair %s of %s holds another key and cannot be replaced now (%w): apply again", name, p.ID(), err)
	}
	if err != nil {
		return fmt.Errorf("importing key pair %s of %s: %w", name, p.ID(), err)
	}
	c.progress("imported key pair", map[string]any{"pool": p.ID(), "key_pair": name})
	return nil
}

// sameKey reports whether two authorized_keys lines hold the same key, whatever their comments.
func sameKey(a, b string) bool {
	ka, _, _, _, err := ssh.ParseAuthorizedKey([]byte(a))
	if err != nil {
		return false
	}
	kb, _, _, _, err := ssh.ParseAuthorizedKey([]byte(b))
	if err != nil {
		return false
	}
	return bytes.Equal(ka.Marshal(), kb.Marshal())
}

// DeleteKeyPair deletes a key pair; one already gone is fine.
func (c *Client) DeleteKeyPair(ctx context.Context, name string) error {
	if _, err := c.EC2.DeleteKeyPair(ctx, &ec2.DeleteKeyPairInput{KeyName: aws.String(name)}); err != nil && !isCode(err, codeKeyPairNotFound) {
		return fmt.Errorf("deleting key pair %s: %w", name, err)
	}
	return nil
}
