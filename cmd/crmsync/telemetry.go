package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/crmsync/crmsync/engine/telemetry"
)

// withTelemetry runs a command with OpenTelemetry traces when the OTEL_*
// variables ask for them (see package telemetry), flushing them at exit.
func withTelemetry(stderr io.Writer, run func() int) int {
	shutdown, err := telemetry.Setup(context.Background(), version)
	if err != nil {
		fmt.Fprintln(stderr, "crmsync:", err)
		return exitUsage
	}
	code := run()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := shutdown(ctx); err != nil {
		fmt.Fprintln(stderr, "crmsync: flushing traces:", err)
	}
	return code
}
