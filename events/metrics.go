package events

import (
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/motcua/motcua/domain"
)

// Metrics are the relay's Prometheus metrics. A nil *Metrics records nothing.
type Metrics struct {
	Published     *prometheus.CounterVec // by type
	Parked        *prometheus.CounterVec // by reason
	PublishErrors prometheus.Counter
	Duplicates    prometheus.Counter
	PublishTime   prometheus.Histogram
	// Delay is the time from an event's occurred_at to JetStream's
	// acknowledgement, by class (lifecycle or late): the outbox's delay,
	// and for late events the watcher's too.
	Delay     *prometheus.HistogramVec
	Backlog   prometheus.Gauge
	OldestAge prometheus.Gauge

	conn atomic.Pointer[Conn] // the relay's connection, for the NATS gauges
}

// NewMetrics makes the metrics and registers them with reg (nil registers
// nothing).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	m := &Metrics{
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
		Duplicates: f.NewCounter(prometheus.CounterOpts{
			Name: "motcua_relay_duplicates_total",
			Help: "Events published again (after a failed mark or a lost acknowledgement) that JetStream dropped as duplicates.",
		}),
		PublishTime: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "motcua_relay_publish_seconds",
			Help:    "Time from publishing an event to JetStream's acknowledgement.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		Delay: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "motcua_events_delay_seconds",
			Help:    "Time from an event's occurred_at to JetStream's acknowledgement, by class (lifecycle, late).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600},
		}, []string{"class"}),
		Backlog: f.NewGauge(prometheus.GaugeOpts{
			Name: "motcua_outbox_backlog",
			Help: "Events in the outbox not yet published.",
		}),
		OldestAge: f.NewGauge(prometheus.GaugeOpts{
			Name: "motcua_outbox_oldest_age_seconds",
			Help: "Age of the oldest event not yet published (0 when none).",
		}),
	}
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "motcua_nats_connected",
		Help: "1 while the relay's NATS connection is up, else 0.",
	}, func() float64 {
		if c := m.conn.Load(); c != nil && c.NATS().Status() == nats.CONNECTED {
			return 1
		}
		return 0
	})
	f.NewCounterFunc(prometheus.CounterOpts{
		Name: "motcua_nats_reconnects_total",
		Help: "Times the relay's NATS connection reconnected.",
	}, func() float64 {
		if c := m.conn.Load(); c != nil {
			return float64(c.NATS().Stats().Reconnects)
		}
		return 0
	})
	return m
}

func (m *Metrics) watch(c *Conn) {
	if m != nil {
		m.conn.Store(c)
	}
}

func (m *Metrics) published(typ string, occurred, acked time.Time) {
	if m != nil {
		m.Published.WithLabelValues(typ).Inc()
		if !occurred.IsZero() {
			class := "lifecycle"
			if domain.EventType(typ).Deadline() {
				class = "late"
			}
			m.Delay.WithLabelValues(class).Observe(max(acked.Sub(occurred).Seconds(), 0))
		}
	}
}

func (m *Metrics) duplicate() {
	if m != nil {
		m.Duplicates.Inc()
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
