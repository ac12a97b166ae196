package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/motcua/motcua/service"
	"github.com/motcua/motcua/store"
)

type watchMetrics struct {
	fired *prometheus.CounterVec
	lag   prometheus.Gauge
	pass  prometheus.Histogram
	errs  prometheus.Counter
}

func newWatchMetrics(reg prometheus.Registerer) *watchMetrics {
	m := &watchMetrics{
		fired: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "motcua_watcher_events_total",
			Help: "Late-processing events the deadline watcher wrote, by type."}, []string{"type"}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{Name: "motcua_watcher_lag_seconds",
			Help: "How long after its deadline the most belated event of the last pass was written."}),
		pass: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "motcua_watcher_pass_seconds",
			Help: "Duration of a watcher pass.", Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12)}),
		errs: prometheus.NewCounter(prometheus.CounterOpts{Name: "motcua_watcher_errors_total", Help: "Failed watcher passes."}),
	}
	reg.MustRegister(m.fired, m.lag, m.pass, m.errs)
	return m
}

// watch runs the deadline watcher every interval until ctx ends. Every
// instance runs one: they share the work through SKIP LOCKED and the claims.
func watch(ctx context.Context, log *slog.Logger, svc *service.Service, every time.Duration, m *watchMetrics) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		start := time.Now()
		pass, err := svc.WatchDeadlines(ctx)
		m.pass.Observe(time.Since(start).Seconds())
		switch {
		case err != nil && ctx.Err() == nil:
			m.errs.Inc()
			log.Error("deadline watcher", "err", err)
		case err == nil:
			m.lag.Set(pass.Lag.Seconds())
			for kind, n := range pass.Fired {
				m.fired.WithLabelValues(string(kind)).Add(float64(n))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// prune deletes old published events every hour while this instance relays.
func prune(ctx context.Context, log *slog.Logger, st *store.Store, keep time.Duration) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := st.PruneOutbox(ctx, time.Now().Add(-keep)); err != nil && ctx.Err() == nil {
			log.Error("pruning the outbox", "err", err)
		} else if n > 0 {
			log.Info("pruned published events", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
