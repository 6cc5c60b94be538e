// Package provisioning is the provider's EC2 provisioning client, behind the narrow EC2API
// interface (SDK signatures; TemplateEC2 is the Describe-only part templates need). It
//
//   - checks node templates against EC2 and resolves what they leave open: zone, default VPC
//     and subnet, security groups, AMI and architecture (template.go), after the format checks
//     and limits of every template setting (validate.go);
//   - makes, reads, scales, replaces and deletes node pools: one RunInstances per launch with an
//     idempotency token, waits, naming each node after its hostname, adoption of instances a
//     killed apply launched, termination (pool.go, instances.go), with what a node is launched
//     and booted with hashed into its spec (spec.go);
//   - owns what pools share on AWS: the managed security group and its rules, within EC2's
//     rule quota (securitygroups.go), and the pool's key pair (keypairs.go);
//   - decides how nodes join a cluster: the one node that starts it, the address others join
//     through, agents waiting for their servers' version, etcd nodes leaving one at a time
//     through a Remover (join.go);
//   - tags everything it makes, and finds it again by those tags alone (tags.go);
//   - keeps to EC2's limits and error semantics: filter values per call, instances per
//     terminate, user data size, capacity and quota errors, eventual consistency (instances.go,
//     errcodes.go, client.go).
//
// It imports nothing from terraform-plugin-*: it reports progress through Client.Progress.
package provisioning
