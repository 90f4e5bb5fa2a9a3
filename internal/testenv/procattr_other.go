//go:build !linux

package testenv

import "os/exec"

// setProcAttr does nothing where the kernel cannot tie a child's life to ours;
// t.Cleanup still stops it.
func setProcAttr(cmd *exec.Cmd) {}
