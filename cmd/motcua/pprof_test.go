package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
)

// TestPprofAddr: PPROF_ADDR takes only loopback addresses; when set, the
// profiles answer there and not on the API's port; unset, nowhere.
func TestPprofAddr(t *testing.T) {
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"", true}, {"127.0.0.1:6060", true}, {"[::1]:6060", true}, {"localhost:6060", true},
		{"0.0.0.0:6060", false}, {":6060", false}, {"192.0.2.1:6060", false}, {"127.0.0.1", false},
	} {
		c, err := loadConfig(envOf(map[string]string{"PPROF_ADDR": tc.addr}))
		if (err == nil) != tc.ok || (tc.ok && c.PprofAddr != tc.addr) {
			t.Errorf("PPROF_ADDR=%q: config %q, err %v; want ok=%v", tc.addr, c.PprofAddr, err, tc.ok)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	base, stop := startServer(t, map[string]string{"DATA_DIR": t.TempDir(), "HTTP_ADDR": "127.0.0.1:0", "LOG_LEVEL": "error", "PPROF_ADDR": addr})
	defer stop()
	get := func(url string) int {
		t.Helper()
		res, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	if s := get(fmt.Sprintf("http://%s/debug/pprof/heap", addr)); s != http.StatusOK {
		t.Errorf("pprof on PPROF_ADDR: %d", s)
	}
	if s := get(base + "/debug/pprof/heap"); s == http.StatusOK {
		t.Errorf("pprof on HTTP_ADDR: %d", s)
	}
}
