package daemon

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/healthsync/healthsync/sync/engine"
	"github.com/healthsync/healthsync/sync/store"
)

// connectorCollector exposes per-connector HTTP counters and the webhook
// queue depth, read at scrape time.
type connectorCollector struct {
	eng                             *engine.Engine
	st                              *store.Store
	calls, retries, throttled, errs *prometheus.Desc
	queue, dead, outbox             *prometheus.Desc
}

func newConnectorCollector(eng *engine.Engine, st *store.Store) *connectorCollector {
	l := []string{"connector", "kind"}
	return &connectorCollector{eng: eng, st: st,
		calls:     prometheus.NewDesc("healthsync_connector_api_calls_total", "HTTP calls sent to the vendor.", l, nil),
		retries:   prometheus.NewDesc("healthsync_connector_api_retries_total", "HTTP retries.", l, nil),
		throttled: prometheus.NewDesc("healthsync_connector_api_throttled_total", "429 responses.", l, nil),
		errs:      prometheus.NewDesc("healthsync_connector_api_errors_total", "Calls that ended in an error.", l, nil),
		queue:     prometheus.NewDesc("healthsync_webhook_queue_depth", "Webhook events waiting to be processed.", nil, nil),
		dead:      prometheus.NewDesc("healthsync_webhook_dead_letters", "Webhook events in the dead-letter list.", nil, nil),
		outbox:    prometheus.NewDesc("healthsync_notify_outbox_depth", "Outbound notifications waiting for delivery.", nil, nil),
	}
}

func (c *connectorCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.calls, c.retries, c.throttled, c.errs, c.queue, c.dead, c.outbox} {
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
}
