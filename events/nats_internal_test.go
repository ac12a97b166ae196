package events

import (
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"nats://127.0.0.1:4222":                      "nats://127.0.0.1:4222",
		"nats://alice:s3cret@nats.example:4222":      "nats://redacted@nats.example:4222",
		"nats://tok3n@a:4222, tls://bob:p@ss@b:4222": "nats://redacted@a:4222,tls://redacted@b:4222",
		"alice:s3cret@host:4222":                     "redacted@host:4222",
		"":                                           "",
	} {
		got := redactURL(in)
		if got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
		for _, secret := range []string{"s3cret", "tok3n", "p@ss", "alice", "bob"} {
			if strings.Contains(got, secret) {
				t.Errorf("redactURL(%q) = %q leaks %q", in, got, secret)
			}
		}
	}
}

func TestMultipleFilters(t *testing.T) {
	for v, want := range map[string]bool{"2.9.10": false, "2.10.0": true, "2.15.2": true, "3.0.0": true, "1.4.1": false, "": true, "v2.9": true} {
		if got := multipleFilters(v); got != want {
			t.Errorf("multipleFilters(%q) = %v, want %v", v, got, want)
		}
	}
}
