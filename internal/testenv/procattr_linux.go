package testenv

import (
	"os/exec"
	"syscall"
)

// setProcAttr makes the kernel kill a child when the test binary dies, so a
// crashed or timed-out test leaves no registry behind.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
