package webhook

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the receiver's Prometheus metrics.
type Metrics struct {
	Received   *prometheus.CounterVec // requests by vendor
	Verified   *prometheus.CounterVec // verified events by vendor
	Rejected   *prometheus.CounterVec // rejected requests by vendor and reason
	Duplicates *prometheus.CounterVec // duplicate events acknowledged, by vendor
	Processed  *prometheus.CounterVec // events processed by vendor and outcome (ok, retry, dead)
	// EventToCRM is the time from receipt to the CRM write, in seconds.
	EventToCRM prometheus.Histogram
	// Panics counts recovered panics by where they happened (http,
	// webhook_worker).
	Panics *prometheus.CounterVec
}

// NewMetrics creates the metrics and registers them with reg (nil: not
// registered, for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Received: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "healthsync_webhook_received_total",
			Help: "Webhook requests received, by vendor."}, []string{"vendor"}),
		Verified: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "healthsync_webhook_verified_events_total",
			Help: "Webhook events that passed verification, by vendor."}, []string{"vendor"}),
		Rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "healthsync_webhook_rejected_total",
			Help: "Webhook requests rejected, by vendor and reason."}, []string{"vendor", "reason"}),
		Duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "healthsync_webhook_duplicates_total",
			Help: "Duplicate webhook events acknowledged without processing, by vendor."}, []string{"vendor"}),
		Processed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "healthsync_webhook_processed_total",
			Help: "Webhook events processed, by vendor and outcome."}, []string{"vendor", "outcome"}),
		EventToCRM: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "healthsync_webhook_event_to_crm_seconds",
			Help:    "Time from webhook receipt to the CRM write it caused.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}}),
		Panics: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "healthsync_panics_total",
			Help: "Panics recovered, by where they happened."}, []string{"where"}),
	}
	if reg != nil {
		reg.MustRegister(m.Received, m.Verified, m.Rejected, m.Duplicates, m.Processed, m.EventToCRM, m.Panics)
	}
	return m
}
