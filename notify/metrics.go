package notify

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/motcua/motcua/domain"
)

// Metrics are the notifier's Prometheus metrics; a nil *Metrics records
// nothing.
type Metrics struct {
	results *prometheus.CounterVec
	written prometheus.Counter
	seconds *prometheus.HistogramVec
}

// NewMetrics registers the metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		results: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "motcua_notifications_total",
			Help: "Attempts to tell applicants, by channel, event and result (sent, retry, failed; stale: an event too old to tell)."},
			[]string{"channel", "event", "result"}),
		written: prometheus.NewCounter(prometheus.CounterOpts{Name: "motcua_notifications_queued_total",
			Help: "Notification rows written from the event stream (one per event and consented channel)."}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "motcua_notification_send_seconds",
			Help: "Time to send one message to the SMS gateway or mail server.", Buckets: prometheus.DefBuckets},
			[]string{"channel"}),
	}
	reg.MustRegister(m.results, m.written, m.seconds)
	return m
}

func (m *Metrics) result(ch domain.NotifyChannel, ev domain.EventType, result string) {
	if m != nil {
		m.results.WithLabelValues(string(ch), string(ev), result).Inc()
	}
}

func (m *Metrics) queued(n int) {
	if m != nil {
		m.written.Add(float64(n))
	}
}

func (m *Metrics) took(ch domain.NotifyChannel, d time.Duration) {
	if m != nil {
		m.seconds.WithLabelValues(string(ch)).Observe(d.Seconds())
	}
}
