package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestWarnWithoutPublicURL: on an address beyond loopback and without
// PUBLIC_URL the start warns; on loopback, or with PUBLIC_URL, it does not.
func TestWarnWithoutPublicURL(t *testing.T) {
	tests := []struct {
		addr, publicURL string
		warn            bool
	}{
		{"0.0.0.0:0", "", true},
		{"127.0.0.1:0", "", false},
		{"0.0.0.0:0", "https://motcua.example.gov.vn", false},
	}
	for _, tt := range tests {
		logs := &syncBuffer{}
		env := map[string]string{"DATA_DIR": t.TempDir(), "HTTP_ADDR": tt.addr, "LOG_LEVEL": "warn", "PUBLIC_URL": tt.publicURL}
		ctx, cancel := context.WithCancel(context.Background())
		ready, done := make(chan string, 1), make(chan error, 1)
		go func() { done <- run(ctx, nil, envOf(env), nil, logs, ready) }()
		select {
		case <-ready:
		case err := <-done:
			cancel()
			t.Fatalf("serve stopped: %v", err)
		case <-time.After(30 * time.Second):
			cancel()
			t.Fatal("serve did not start")
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(logs.String(), "PUBLIC_URL is unset"); got != tt.warn {
			t.Errorf("%s, PUBLIC_URL=%q: warned %v, want %v\n%s", tt.addr, tt.publicURL, got, tt.warn, logs.String())
		}
	}
}
