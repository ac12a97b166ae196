package main

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestMetricsAddr: with METRICS_ADDR, /metrics answers there and not on the
// public listener.
func TestMetricsAddr(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	env := map[string]string{"DATA_DIR": t.TempDir(), "HTTP_ADDR": "127.0.0.1:0", "LOG_LEVEL": "error", "METRICS_ADDR": addr}
	base, _ := startServer(t, env)
	if status, _ := call(t, "GET", base+"/healthz", "", nil); status != 200 {
		t.Fatalf("healthz %d", status)
	}
	if status, _ := call(t, "GET", base+"/metrics", "", nil); status != http.StatusNotFound {
		t.Errorf("/metrics on HTTP_ADDR: %d, want 404", status)
	}
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || !strings.Contains(string(b), `motcua_http_requests_total{method="GET",route="/healthz",status="200"} 1`) {
		t.Fatalf("/metrics on METRICS_ADDR: %d\n%.2000s", res.StatusCode, b)
	}
}
