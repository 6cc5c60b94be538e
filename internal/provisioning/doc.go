// Package provisioning is the provisioning client: it checks node templates against EC2 and
// makes, names, scales, replaces and removes node pools, through a narrow EC2 interface.
package provisioning
