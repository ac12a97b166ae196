package handlers_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/motcua/motcua/handlers"
	"github.com/motcua/motcua/store/storetest"
)

// series counts the series of each motcua_http_* metric and returns every
// label value seen.
func series(t *testing.T, reg *prometheus.Registry) (map[string]int, map[string]bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n, values := map[string]int{}, map[string]bool{}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "motcua_http_") {
			continue
		}
		n[mf.GetName()] = len(mf.GetMetric())
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				values[l.GetName()+"="+l.GetValue()] = true
			}
		}
	}
	return n, values
}

// TestMetricsLabelsAreBounded: made-up methods and paths, thousands of
// them, add no series: every label value comes from a fixed set.
func TestMetricsLabelsAreBounded(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	reg := prometheus.NewRegistry()
	router := handlers.New(handlers.Config{Service: e.svc, Verifier: nil, Logger: storetest.Quiet(), Registry: reg})
	send := func(method, path string) {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Method = method
		router.ServeHTTP(httptest.NewRecorder(), req)
	}
	// The fixed set: a few real requests first.
	for _, p := range []string{"/healthz", "/api/v1/calendar/days?year=2026", "/no/such/page"} {
		send(http.MethodGet, p)
	}
	before, _ := series(t, reg)
	for i := range 3000 {
		send(fmt.Sprintf("M%dX", i), []string{"/healthz", "/api/v1/calendar/days", fmt.Sprintf("/made/up/%d", i), "/api/v1/dossiers/X"}[i%4])
		send(http.MethodGet, fmt.Sprintf("/made/up/%d", i))
	}
	after, values := series(t, reg)
	for name, n := range after {
		// OTHER on each of a few routes and statuses at most.
		if n > before[name]+12 {
			t.Errorf("%s grew from %d to %d series", name, before[name], n)
		}
	}
	for v := range values {
		if strings.Contains(v, "M1") || strings.Contains(v, "/made/up") {
			t.Errorf("label value from the request: %s", v)
		}
	}
	for _, want := range []string{"method=OTHER", "route=unmatched", "route=/healthz", "method=GET", "status=404"} {
		if !values[want] {
			t.Errorf("no label %s among %v", want, values)
		}
	}
}

// TestMetricsElsewhere: with METRICS_ADDR the main router has no /metrics.
func TestMetricsElsewhere(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	for _, tt := range []struct {
		elsewhere bool
		want      int
	}{{false, http.StatusOK}, {true, http.StatusNotFound}} {
		router := handlers.New(handlers.Config{Service: e.svc, Logger: storetest.Quiet(), Registry: prometheus.NewRegistry(), MetricsElsewhere: tt.elsewhere})
		rec := httptest.NewRecorder()
		router.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		if rec.Code != tt.want {
			t.Errorf("MetricsElsewhere=%v: /metrics %d, want %d", tt.elsewhere, rec.Code, tt.want)
		}
	}
}
