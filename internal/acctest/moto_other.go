//go:build !linux

package acctest

import "syscall"

// childProcAttr has no parent-death signal off Linux; Stop ends the server.
func childProcAttr() *syscall.SysProcAttr { return nil }
