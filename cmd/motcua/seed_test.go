package main

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strings"
	"testing"
)

// TestSeedDossiers runs `motcua seed --dossiers N` and `motcua seed rollups`
// on the embedded SQLite, and refuses bad flags.
func TestSeedDossiers(t *testing.T) {
	env := map[string]string{"DATA_DIR": t.TempDir(), "LOG_LEVEL": "error"}
	var out bytes.Buffer
	err := run(context.Background(), []string{"seed", "--dossiers", "400", "--months", "2", "--now", "2026-11-20T10:00:00+07:00"},
		envOf(env), &out, io.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^seeded 1700 agencies, 7344 procedures, 3[89]\d dossiers received 2026-09-21`).MatchString(out.String()) ||
		!strings.Contains(out.String(), "roll-ups:") {
		t.Fatalf("seed printed %q", out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"seed", "rollups"}, envOf(env), &out, io.Discard, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "roll-ups rebuilt") {
		t.Fatalf("rollups printed %q", out.String())
	}
	for _, bad := range [][]string{{"seed", "--dossiers", "0"}, {"seed", "--dossiers", "x"}, {"seed", "--dossiers", "10", "--months", "99"},
		{"seed", "--dossiers", "10", "--now", "yesterday"}, {"seed", "--dossiers", "10", "extra"}, {"seed", "rollups", "x"}, {"seed"}} {
		if err := run(context.Background(), bad, envOf(env), io.Discard, io.Discard, nil); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	// A second seed of the same database is refused.
	if err := run(context.Background(), []string{"seed", "--dossiers", "10"}, envOf(env), io.Discard, io.Discard, nil); err == nil {
		t.Error("a second seed was accepted")
	}
}
