//go:build !unix

package sqlite

// pidAlive cannot tell here; the heartbeat decides alone.
func pidAlive(pid int) bool { return pid > 0 }
