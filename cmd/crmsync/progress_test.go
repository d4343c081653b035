package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/runner"
)

// TestProgressPercentETA: when the source says how many records there
// are, the status line shows the share done and the time left at the
// entity's rate; without a total, only pages and records.
func TestProgressPercentETA(t *testing.T) {
	for _, c := range []struct {
		p    runner.Progress
		want string
	}{
		{runner.Progress{Pages: 3, Records: 120, Total: 240, Elapsed: 4 * time.Second}, "p3 120/240 50% ETA 4s"},
		{runner.Progress{Pages: 1, Records: 10, Total: 1000, Elapsed: 10 * time.Second}, "p1 10/1000 1% ETA 16m30s"},
		{runner.Progress{Pages: 1, Records: 1, Total: 100000, Elapsed: time.Second}, "p1 1/100000 0% ETA 27h46m"},
		{runner.Progress{Pages: 9, Records: 240, Total: 240, Elapsed: 4 * time.Second}, "p9 240/240 100%"},
		{runner.Progress{Pages: 9, Records: 250, Total: 240, Elapsed: 4 * time.Second}, "p9 250/240 100%"}, // the total moved
		{runner.Progress{Pages: 1, Records: 0, Total: 240}, "p1 0/240 0%"},
		{runner.Progress{Pages: 2, Records: 50, Total: -1, Elapsed: time.Second}, "p2 50"},
	} {
		if got := entityProgress(c.p); got != c.want {
			t.Errorf("%+v: %q, want %q", c.p, got, c.want)
		}
	}
	var buf bytes.Buffer
	p := newProgress(&buf, true)
	p.update(runner.Progress{Pipeline: "hubspot", Entity: "contacts", Pages: 2, Records: 100, Total: 400, Elapsed: 2 * time.Second})
	p.update(runner.Progress{Pipeline: "hubspot", Entity: "deals", Pages: 1, Records: 5, Total: -1, Elapsed: time.Second})
	line := buf.String()[strings.LastIndex(buf.String(), "\r\033[K")+4:]
	if !strings.HasPrefix(line, "hubspot contacts: p2 100/400 25% ETA 6s | hubspot deals: p1 5 · ") {
		t.Errorf("status line %q", line)
	}
	p.done()
	if !strings.HasSuffix(buf.String(), "\r\033[K") {
		t.Errorf("done did not clear the line: %q", buf.String())
	}
	// Off (not a terminal): nothing at all.
	buf.Reset()
	off := newProgress(&buf, false)
	off.update(runner.Progress{Pipeline: "x", Entity: "y", Records: 1, Total: 2})
	off.done()
	if buf.Len() != 0 {
		t.Errorf("progress off wrote %q", buf.String())
	}
}
