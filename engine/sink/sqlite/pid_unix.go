//go:build unix

package sqlite

import (
	"errors"
	"syscall"
)

// pidAlive reports whether a process exists on this host; signal 0 checks
// without sending anything (EPERM: it exists but belongs to another user).
func pidAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
