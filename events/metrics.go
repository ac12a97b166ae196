package events

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics are the relay's Prometheus metrics. A nil *Metrics records nothing.
type Metrics struct {
	Published     *prometheus.CounterVec // by type
	Parked        *prometheus.CounterVec // by reason
	PublishErrors prometheus.Counter
	PublishTime   prometheus.Histogram
	Backlog       prometheus.Gauge
	OldestAge     prometheus.Gauge
}

// NewMetrics makes the metrics and registers them with reg (nil registers
// nothing).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	return &Metrics{
		Published: f.NewCounterVec(prometheus.CounterOpts{
			Name: "motcua_events_published_total",
			Help: "Events JetStream acknowledged, by event type.",
		}, []string{"type"}),
		Parked: f.NewCounterVec(prometheus.CounterOpts{
			Name: "motcua_events_parked_total",
			Help: "Events set aside because they can never be published, by reason.",
		}, []string{"reason"}),
		PublishErrors: f.NewCounter(prometheus.CounterOpts{
			Name: "motcua_relay_publish_errors_total",
			Help: "Publishes that failed and will be tried again (NATS away, timeout, ...).",
		}),
		PublishTime: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "motcua_relay_publish_seconds",
			Help:    "Time from publishing a batch to the last acknowledgement.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		Backlog: f.NewGauge(prometheus.GaugeOpts{
			Name: "motcua_outbox_backlog",
			Help: "Events in the outbox not yet published.",
		}),
		OldestAge: f.NewGauge(prometheus.GaugeOpts{
			Name: "motcua_outbox_oldest_age_seconds",
			Help: "Age of the oldest event not yet published (0 when none).",
		}),
	}
}

func (m *Metrics) published(typ string) {
	if m != nil {
		m.Published.WithLabelValues(typ).Inc()
	}
}

func (m *Metrics) parked(reason string) {
	if m != nil {
		m.Parked.WithLabelValues(reason).Inc()
	}
}

func (m *Metrics) publishError() {
	if m != nil {
		m.PublishErrors.Inc()
	}
}

func (m *Metrics) publishTime(sec float64) {
	if m != nil {
		m.PublishTime.Observe(sec)
	}
}
