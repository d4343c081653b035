package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"time"
)

// withProfiles writes a CPU profile of the whole command to
// $CRMSYNC_CPUPROFILE, and to $CRMSYNC_MEMPROFILE the heap profile of the
// moment the heap was largest (go tool pprof reads both), for measuring a
// real run rather than a benchmark.
func withProfiles(stderr io.Writer, f func() int) int {
	if path := os.Getenv("CRMSYNC_CPUPROFILE"); path != "" {
		out, err := os.Create(path)
		if err != nil {
			fmt.Fprintf(stderr, "crmsync: CRMSYNC_CPUPROFILE: %v\n", err)
			return exitUsage
		}
		if err := pprof.StartCPUProfile(out); err != nil {
			fmt.Fprintf(stderr, "crmsync: CRMSYNC_CPUPROFILE: %v\n", err)
			return exitUsage
		}
		defer func() { pprof.StopCPUProfile(); out.Close() }()
	}
	if path := os.Getenv("CRMSYNC_MEMPROFILE"); path != "" {
		runtime.MemProfileRate = 64 << 10
		stop := make(chan struct{})
		done := make(chan struct{})
		go peakHeapProfile(path, stderr, stop, done)
		defer func() { close(stop); <-done }()
	}
	return f()
}

// peakHeapProfile checks the heap every 250 ms and writes its profile
// whenever it is larger than at the last write, so the file ends up
// holding what was live at the peak.
func peakHeapProfile(path string, stderr io.Writer, stop, done chan struct{}) {
	defer close(done)
	var peak uint64
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if ms.HeapInuse <= peak {
			continue
		}
		peak = ms.HeapInuse
		out, err := os.Create(path)
		if err != nil {
			fmt.Fprintf(stderr, "crmsync: CRMSYNC_MEMPROFILE: %v\n", err)
			return
		}
		err = pprof.Lookup("heap").WriteTo(out, 0)
		out.Close()
		if err != nil {
			fmt.Fprintf(stderr, "crmsync: CRMSYNC_MEMPROFILE: %v\n", err)
			return
		}
	}
}
