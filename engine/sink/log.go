package sink

import (
	"context"
	"log/slog"
)

type loggerKey struct{}

// WithLogger gives a destination the logger of the sync it writes for:
// what it says while it waits (a lock held elsewhere, a connection
// retried) names the pipeline and entity.
func WithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

// Logger is the logger WithLogger set, or slog's default.
func Logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok && l != nil {
		return l
	}
	return slog.Default()
}
