package httpsrc

import (
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/crmsync/crmsync/engine/telemetry"
)

// startSpan starts the span of one HTTP try (a child of the sync's span),
// with the URL as crmsync prints it: secrets redacted. No trace headers
// go to the API: they would tell a third party about our traces.
func (r *reader) startSpan(req *http.Request) trace.Span {
	_, span := telemetry.Tracer().Start(req.Context(), "HTTP "+req.Method, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("http.request.method", req.Method), attribute.String("url.full", r.red.url(req.URL)),
			attribute.String("server.address", req.URL.Hostname()), attribute.String("crmsync.entity", r.o.entity)))
	return span
}
