// Package bootstrap renders what a node boots with (cloud-init user data) and makes the keys a
// node pool needs; pure functions with injected randomness, no network.
package bootstrap
