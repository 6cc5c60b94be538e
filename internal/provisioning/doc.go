// Package provisioning is the provisioning client: it checks node templates against EC2 and
// (in later issues) makes, scales and removes node pools, through a narrow EC2 interface.
package provisioning
