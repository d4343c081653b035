package serve

import (
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/crmsync/crmsync/engine/runner"
	"github.com/crmsync/crmsync/engine/sink"
)

// Metrics are the Prometheus series of one Scheduler, in a registry of
// their own (tests run several schedulers in one process). Labels carry
// names, files and hashes only, never a setting's value.
type Metrics struct {
	Registry *prometheus.Registry

	syncs       *prometheus.CounterVec
	records     *prometheus.CounterVec
	apiCalls    *prometheus.CounterVec
	retries     *prometheus.CounterVec
	skipped     *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	lastSuccess *prometheus.GaugeVec
	watermark   *prometheus.GaugeVec
	running     *prometheus.GaugeVec
	failures    *prometheus.GaugeVec
	nextRun     *prometheus.GaugeVec

	reloadOK *prometheus.GaugeVec
	reloadTS *prometheus.GaugeVec
	problems *prometheus.GaugeVec
	planInfo *prometheus.GaugeVec

	leader      prometheus.Gauge
	jobsQueued  prometheus.Gauge
	jobsRunning prometheus.Gauge
	paused      *prometheus.GaugeVec
	admin       *prometheus.CounterVec
	jobsRetried *prometheus.CounterVec

	http *httpMetrics
}

var entityLabels = []string{"pipeline", "entity"}

// Build is what crmsync_build_info reports: the command sets it at start
// (from -ldflags -X main.version or the binary's build info).
var Build struct{ Version, Revision string }

func newMetrics() *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry()}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
		m.Registry.MustRegister(c)
		return c
	}
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
		m.Registry.MustRegister(g)
		return g
	}
	m.syncs = counter("crmsync_syncs_total", "Syncs that ended, by status (success, partial, failed, interrupted).", "pipeline", "entity", "status")
	m.records = counter("crmsync_records_total", "Records by outcome: created, updated, unchanged, rejected, filtered, failed, duplicate (a key an earlier record of the same batch had).", "pipeline", "entity", "outcome")
	m.apiCalls = counter("crmsync_api_calls_total", "Requests sent to the source.", entityLabels...)
	m.retries = counter("crmsync_api_retries_total", "Requests sent again after a retryable failure.", entityLabels...)
	m.skipped = counter("crmsync_syncs_skipped_total", "Ticks that did not sync, by reason (running_elsewhere: another replica holds the entity).", "pipeline", "entity", "reason")
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "crmsync_sync_duration_seconds",
		Help:    "How long syncs took.",
		Buckets: []float64{0.1, 0.5, 1, 5, 15, 30, 60, 300, 900, 1800, 3600, 4 * 3600},
	}, entityLabels)
	m.Registry.MustRegister(m.duration)
	m.lastSuccess = gauge("crmsync_last_success_timestamp_seconds", "When the last sync that completed (success or partial) finished, as unix seconds.", entityLabels...)
	m.watermark = gauge("crmsync_watermark_timestamp_seconds", "The entity's stored watermark, as unix seconds (only for time watermarks).", entityLabels...)
	m.running = gauge("crmsync_sync_running", "1 while this process syncs the entity.", entityLabels...)
	m.failures = gauge("crmsync_consecutive_failures", "Failed syncs in a row; above 1 the entity is backing off.", entityLabels...)
	m.nextRun = gauge("crmsync_next_run_timestamp_seconds", "When the entity's next sync is due, as unix seconds.", entityLabels...)
	m.reloadOK = gauge("crmsync_config_last_reload_successful", "Whether the last load of the pipeline file was clean (1) or kept the previous plan (0).", "file")
	m.reloadTS = gauge("crmsync_config_last_reload_success_timestamp_seconds", "When the pipeline file last loaded clean, as unix seconds.", "file")
	m.problems = gauge("crmsync_config_problems", "Problems found by the last load of the pipeline file (0 when clean).", "file")
	m.planInfo = gauge("crmsync_plan_info", "The plan each pipeline file runs: its content hash.", "pipeline", "file", "hash")
	gauge("crmsync_build_info", "Always 1: the crmsync version, source revision and Go version of this process.",
		"version", "revision", "goversion").WithLabelValues(Build.Version, Build.Revision, runtime.Version()).Set(1)
	one := func(name, help string) prometheus.Gauge {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
		m.Registry.MustRegister(g)
		return g
	}
	m.leader = one("crmsync_leader", "1 while this process is River's elected leader (it queues the scheduled syncs of every replica).")
	m.jobsQueued = one("crmsync_jobs_queued", "Sync jobs waiting in River's tables (available, scheduled or retryable), over every replica.")
	m.jobsRunning = one("crmsync_jobs_running", "Sync jobs running, over every replica, as River's tables have them.")
	m.jobsRetried = counter("crmsync_jobs_retried_total", "Sync jobs that ran again after the entity's previous sync failed, on any replica. River does not retry a sync job itself (one attempt each): the schedule's back-off does.", entityLabels...)
	m.paused = gauge("crmsync_paused", "1 while the operator has paused the entity (or its pipeline).", entityLabels...)
	m.admin = counter("crmsync_admin_requests_total", "Operator API requests, by action (run, pause, resume) and result (ok, unauthorized, forbidden, …).", "action", "result")
	m.http = newHTTPMetrics(m.Registry)
	m.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// observe records one finished sync.
func (m *Metrics) observe(r *runner.Result) {
	p, e := r.Pipeline, r.Entity
	m.syncs.WithLabelValues(p, e, r.Status).Inc()
	for _, o := range []struct {
		outcome string
		n       int64
	}{
		{"created", r.Created}, {"updated", r.Updated}, {"unchanged", r.Unchanged},
		{"rejected", r.Rejected}, {"filtered", r.Filtered}, {"failed", r.Failed}, {"duplicate", r.Duplicates},
	} {
		m.records.WithLabelValues(p, e, o.outcome).Add(float64(o.n))
	}
	m.apiCalls.WithLabelValues(p, e).Add(float64(r.APICalls))
	m.retries.WithLabelValues(p, e).Add(float64(r.Retries))
	m.http.rateWait.WithLabelValues(p, e).Add(r.RateLimitWait.Seconds())
	m.duration.WithLabelValues(p, e).Observe(r.Duration.Seconds())
	if r.Status == sink.StatusSuccess || r.Status == sink.StatusPartial {
		m.lastSuccess.WithLabelValues(p, e).Set(float64(r.FinishedAt.UnixMilli()) / 1000)
	}
}

// forgetEntity drops the gauges of an entity that no longer runs here;
// counters stay, as Prometheus expects of them.
func (m *Metrics) forgetEntity(p, e string) {
	for _, g := range []*prometheus.GaugeVec{m.lastSuccess, m.watermark, m.running, m.failures, m.nextRun, m.paused} {
		g.DeleteLabelValues(p, e)
	}
}

// forgetFile drops the series of a pipeline file that is gone.
func (m *Metrics) forgetFile(file string) {
	m.reloadOK.DeleteLabelValues(file)
	m.reloadTS.DeleteLabelValues(file)
	m.problems.DeleteLabelValues(file)
	m.planInfo.DeletePartialMatch(prometheus.Labels{"file": file})
}
