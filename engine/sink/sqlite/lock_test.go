package sqlite

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/sink"
)

func TestLockTwoHandles(t *testing.T) {
	d, path := openTemp(t)
	other, err := Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	unlock, err := d.Lock(ctx, "crm", "contacts")
	if err != nil {
		t.Fatal(err)
	}
	_, err = other.Lock(ctx, "crm", "contacts")
	if !errors.Is(err, sink.ErrLocked) || !strings.Contains(err.Error(), `entity "contacts"`) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Errorf("second handle: %v, want ErrLocked naming the entity and holder", err)
	}
	if _, err := d.Lock(ctx, "crm", "contacts"); !errors.Is(err, sink.ErrLocked) {
		t.Errorf("same handle twice: %v, want ErrLocked", err)
	}
	u2, err := other.Lock(ctx, "crm", "deals") // another entity is free
	if err != nil {
		t.Fatal(err)
	}
	u2()
	unlock()
	unlock() // twice is harmless
	u3, err := other.Lock(ctx, "crm", "contacts")
	if err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	// Closing a handle releases its locks.
	other.Close()
	u3()
	if u, err := d.Lock(ctx, "crm", "contacts"); err != nil {
		t.Errorf("after the holder closed: %v", err)
	} else {
		u()
	}
}

func TestLockTakesOverStaleRows(t *testing.T) {
	d, _ := openTemp(t)
	now := time.Now()
	for _, tc := range []struct {
		name   string
		pid    int
		host   string
		beat   time.Time
		locked bool
	}{
		{"dead pid on this host", 999999999, d.hostname, now, false},
		{"live pid on this host", os.Getpid(), d.hostname, now, true},
		{"live pid on this host, heartbeat stopped", os.Getpid(), d.hostname, now.Add(-3 * time.Minute), false},
		{"other host, fresh heartbeat", 1, "elsewhere", now.Add(-time.Minute), true},
		{"other host, stale heartbeat", 1, "elsewhere", now.Add(-3 * time.Minute), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := d.w.ExecContext(ctx, `INSERT OR REPLACE INTO crmsync_locks VALUES ('crm', 'contacts', ?, ?, 'someone', ?, ?)`,
				tc.pid, tc.host, formatTime(tc.beat), formatTime(tc.beat)); err != nil {
				t.Fatal(err)
			}
			unlock, err := d.Lock(ctx, "crm", "contacts")
			if tc.locked {
				if !errors.Is(err, sink.ErrLocked) {
					t.Errorf("got %v, want ErrLocked", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("not taken over: %v", err)
			}
			equal(t, "holder", dump(t, d, "SELECT pid, token FROM crmsync_locks"), []string{fmt.Sprintf("%d|%s", os.Getpid(), d.token)})
			unlock()
			equal(t, "released", dump(t, d, "SELECT count(*) FROM crmsync_locks"), []string{"0"})
		})
	}
}

func TestLockHeartbeat(t *testing.T) {
	defer func(e time.Duration) { heartbeatEvery = e }(heartbeatEvery)
	heartbeatEvery = 20 * time.Millisecond
	d, _ := openTemp(t)
	unlock, err := d.Lock(ctx, "crm", "contacts")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	first := dump(t, d, "SELECT heartbeat_at FROM crmsync_locks")
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		if now := dump(t, d, "SELECT heartbeat_at FROM crmsync_locks"); now[0] > first[0] {
			return
		}
	}
	t.Error("heartbeat_at never moved")
}

// TestLockAcrossProcesses runs a second process (this test binary) that
// takes the lock and waits; while it lives the lock is refused, and once
// it is killed, the lock is taken over at once.
func TestLockAcrossProcesses(t *testing.T) {
	if path := os.Getenv("CRMSYNC_SQLITE_LOCK_HOLDER"); path != "" {
		holdLock(path)
		return
	}
	d, path := openTemp(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockAcrossProcesses$")
	cmd.Env = append(os.Environ(), "CRMSYNC_SQLITE_LOCK_HOLDER="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("holder said %q (%v)", line, err)
	}
	if _, err := d.Lock(ctx, "crm", "contacts"); !errors.Is(err, sink.ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", cmd.Process.Pid)) {
		t.Fatalf("while the other process holds it: %v", err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	unlock, err := d.Lock(ctx, "crm", "contacts")
	if err != nil {
		t.Fatalf("after the holder died: %v", err)
	}
	unlock()
}

func holdLock(path string) {
	d, err := Open(ctx, "sqlite:"+path)
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	if _, err := d.Lock(ctx, "crm", "contacts"); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Println("locked")
	time.Sleep(time.Minute)
	os.Exit(0)
}
