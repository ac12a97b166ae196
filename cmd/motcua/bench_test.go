package main

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/motcua/motcua/events/eventstest"
)

// The bench's stream scenario, against a served instance on SQLite and a
// NATS server both processes reach: every paced command's event comes back
// from the stream and is timed; bad flags are refused.
func TestBenchStream(t *testing.T) {
	nopts := eventstest.ListeningOptions(t)
	env := map[string]string{"DATA_DIR": t.TempDir(), "HTTP_ADDR": "127.0.0.1:0", "LOG_LEVEL": "error", "PUBLIC_RATE_LIMIT": "0",
		"NATS_URL": nopts.URL, "NATS_STREAM": nopts.Stream, "NATS_SUBJECT_PREFIX": nopts.SubjectPrefix,
		"JWT_SECRET": "bench-test-secret-bench-test-secret-0123"}
	base, _ := startServer(t, env)

	var out bytes.Buffer
	args := []string{"bench", "--url", base, "--scenarios", "stream", "--rate", "40", "--duration", "1s", "--dossiers", "10", "--connections", "4"}
	if err := run(context.Background(), args, envOf(env), &out, io.Discard, nil); err != nil {
		t.Fatalf("bench: %v\n%s", err, out.String())
	}
	t.Log("\n" + out.String())
	m := regexp.MustCompile(`# stream: (\d+) commands .* (\d+) of their events came`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no stream summary in\n%s", out.String())
	}
	commands, _ := strconv.Atoi(m[1])
	received, _ := strconv.Atoi(m[2])
	if commands != 40 || received != commands {
		t.Errorf("%d commands, %d events, want 40 and 40", commands, received)
	}
	var row string
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(line, "stream ") {
			row = line
		}
	}
	if f := strings.Fields(row); len(f) < 7 || f[6] != "0" {
		t.Errorf("stream row %q: want 0 errors", row)
	}

	for _, bad := range [][]string{{"--rate", "0"}, {"--connections", "-1"}, {"--rate", "x"}} {
		err := run(context.Background(), append([]string{"bench", "--url", base, "--scenarios", "stream"}, bad...), envOf(env), io.Discard, io.Discard, nil)
		if err == nil || !strings.Contains(err.Error(), "bench") {
			t.Errorf("bench %v: %v, want a usage error", bad, err)
		}
	}
	noNATS := map[string]string{"JWT_SECRET": env["JWT_SECRET"], "DATA_DIR": t.TempDir()}
	err := run(context.Background(), []string{"bench", "--url", base, "--scenarios", "stream", "--dossiers", "1"}, envOf(noNATS), io.Discard, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "NATS_URL") {
		t.Errorf("stream without NATS_URL: %v", err)
	}
}
