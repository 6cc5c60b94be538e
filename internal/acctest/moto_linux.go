package acctest

import "syscall"

// childProcAttr makes the kernel kill moto when the test binary dies, so no server outlives a
// crashed or interrupted test run.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
