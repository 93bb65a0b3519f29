package daemon

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/healthsync/healthsync/sync/engine"
	"github.com/healthsync/healthsync/sync/schedule"
	"github.com/healthsync/healthsync/sync/store"
)

// connectorCollector exposes per-connector HTTP counters, the webhook queue
// depth and what a dashboard of the sync needs (last successful pull, run
// durations, pending writes, records held), read at scrape time.
type connectorCollector struct {
	eng                             *engine.Engine
	st                              store.Store
	calls, retries, throttled, errs *prometheus.Desc
	queue, dead, outbox             *prometheus.Desc
	lastSuccess, lastRun, lastDur   *prometheus.Desc
	pending, records                *prometheus.Desc
}

// recentRuns is how many of the latest runs a scrape reads to find each
// connector's last pull and each kind's last run.
const recentRuns = 500

func newConnectorCollector(eng *engine.Engine, st store.Store) *connectorCollector {
	l := []string{"connector", "kind"}
	return &connectorCollector{eng: eng, st: st,
		calls:     prometheus.NewDesc("healthsync_connector_api_calls_total", "HTTP calls sent to the vendor.", l, nil),
		retries:   prometheus.NewDesc("healthsync_connector_api_retries_total", "HTTP retries.", l, nil),
		throttled: prometheus.NewDesc("healthsync_connector_api_throttled_total", "429 responses.", l, nil),
		errs:      prometheus.NewDesc("healthsync_connector_api_errors_total", "Calls that ended in an error.", l, nil),
		queue:     prometheus.NewDesc("healthsync_webhook_queue_depth", "Webhook events waiting to be processed.", nil, nil),
		dead:      prometheus.NewDesc("healthsync_webhook_dead_letters", "Webhook events in the dead-letter list.", nil, nil),
		outbox:    prometheus.NewDesc("healthsync_notify_outbox_depth", "Outbound notifications waiting for delivery.", nil, nil),
		lastSuccess: prometheus.NewDesc("healthsync_pull_last_success_timestamp_seconds",
			"End of the connector's last pull that completed (status ok or gated), Unix seconds.", []string{"connector"}, nil),
		lastRun: prometheus.NewDesc("healthsync_run_last_timestamp_seconds",
			"End of the last run of a kind (pull, pull_full, sync, apply, ...) per connector (empty for whole passes), Unix seconds.",
			[]string{"kind", "connector", "status"}, nil),
		lastDur: prometheus.NewDesc("healthsync_run_last_duration_seconds",
			"Duration of the last run of a kind per connector (empty for whole passes).", []string{"kind", "connector", "status"}, nil),
		pending: prometheus.NewDesc("healthsync_pending_writes", "CRM record writes waiting to be retried.", []string{"connector"}, nil),
		records: prometheus.NewDesc("healthsync_records", "Records held in the store.", []string{"connector", "type"}, nil),
	}
}

func (c *connectorCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.calls, c.retries, c.throttled, c.errs, c.queue, c.dead, c.outbox,
		c.lastSuccess, c.lastRun, c.lastDur, c.pending, c.records} {
		ch <- d
	}
}

func (c *connectorCollector) Collect(ch chan<- prometheus.Metric) {
	for _, cn := range c.eng.Connectors() {
		if cn.Stats == nil {
			continue
		}
		s := cn.Stats()
		lv := []string{cn.Name(), cn.Config.Kind}
		ch <- prometheus.MustNewConstMetric(c.calls, prometheus.CounterValue, float64(s.Calls), lv...)
		ch <- prometheus.MustNewConstMetric(c.retries, prometheus.CounterValue, float64(s.Retries), lv...)
		ch <- prometheus.MustNewConstMetric(c.throttled, prometheus.CounterValue, float64(s.Throttled), lv...)
		ch <- prometheus.MustNewConstMetric(c.errs, prometheus.CounterValue, float64(s.Errors), lv...)
	}
	if q, d, err := c.st.QueueDepth(); err == nil {
		ch <- prometheus.MustNewConstMetric(c.queue, prometheus.GaugeValue, float64(q))
		ch <- prometheus.MustNewConstMetric(c.dead, prometheus.GaugeValue, float64(d))
	}
	if n, err := c.st.OutboxLen(); err == nil {
		ch <- prometheus.MustNewConstMetric(c.outbox, prometheus.GaugeValue, float64(n))
	}
	c.collectStore(ch)
}

// collectStore reports what the store holds: a failed read leaves its
// metrics out of this scrape (absent() alerts notice) rather than zero.
func (c *connectorCollector) collectStore(ch chan<- prometheus.Metric) {
	if runs, err := c.st.Runs(recentRuns); err == nil {
		type kc struct{ kind, connector string }
		seen := map[kc]bool{}
		success := map[string]bool{}
		for _, r := range runs { // newest first
			if r.End.IsZero() {
				continue // still running
			}
			if k := (kc{r.Kind, r.Connector}); !seen[k] {
				seen[k] = true
				ch <- prometheus.MustNewConstMetric(c.lastRun, prometheus.GaugeValue, unixSeconds(r.End), r.Kind, r.Connector, r.Status)
				ch <- prometheus.MustNewConstMetric(c.lastDur, prometheus.GaugeValue, r.End.Sub(r.Start).Seconds(), r.Kind, r.Connector, r.Status)
			}
			isPull := r.Kind == "pull" || r.Kind == "pull_full"
			if isPull && r.Connector != "" && !success[r.Connector] && (r.Status == "ok" || r.Status == "gated") {
				success[r.Connector] = true
				ch <- prometheus.MustNewConstMetric(c.lastSuccess, prometheus.GaugeValue, unixSeconds(r.End), r.Connector)
			}
		}
	}
	for _, cn := range c.eng.Connectors() {
		name := cn.Name()
		if cn.IsCRM() {
			if p, err := c.st.Pending(name); err == nil {
				ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(len(p)), name)
			}
		}
		counts, err := c.st.Counts(name)
		if err != nil {
			continue
		}
		for _, t := range store.RecordTypes {
			ch <- prometheus.MustNewConstMetric(c.records, prometheus.GaugeValue, float64(counts[t]), name, string(t))
		}
	}
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// scheduleCollector exposes the scheduled runs a JobLock turned away
// (another replica ran the job, or the database was away), read at scrape
// time from the scheduler.
type scheduleCollector struct {
	sched   *schedule.Scheduler
	skipped *prometheus.Desc
}

func newScheduleCollector(s *schedule.Scheduler) *scheduleCollector {
	return &scheduleCollector{sched: s, skipped: prometheus.NewDesc("healthsync_schedule_skipped_total",
		"Scheduled runs skipped because another replica held the job's lock or the lock could not be taken.", []string{"job"}, nil)}
}

func (c *scheduleCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.skipped }

func (c *scheduleCollector) Collect(ch chan<- prometheus.Metric) {
	for job, n := range c.sched.LockSkips() {
		ch <- prometheus.MustNewConstMetric(c.skipped, prometheus.CounterValue, float64(n.Held+n.Failed), job)
	}
}
