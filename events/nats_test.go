package events_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/motcua/motcua/events"
	"github.com/motcua/motcua/events/eventstest"
)

func TestConnectCreatesStream(t *testing.T) {
	conn := eventstest.Conn(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	if err := conn.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	s, err := conn.JetStream().Stream(ctx, conn.StreamName())
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	if cfg.Storage != jetstream.FileStorage {
		t.Errorf("storage %v, want file", cfg.Storage)
	}
	if cfg.Retention != jetstream.LimitsPolicy {
		t.Errorf("retention %v, want limits", cfg.Retention)
	}
	if want := conn.SubjectPrefix() + "dossiers.>"; len(cfg.Subjects) != 1 || cfg.Subjects[0] != want {
		t.Errorf("subjects %v, want [%s]", cfg.Subjects, want)
	}
	if cfg.Duplicates < 2*time.Minute {
		t.Errorf("duplicate window %s, want at least 2m", cfg.Duplicates)
	}
	if cfg.MaxAge <= 0 {
		t.Errorf("max age %s, want a limit", cfg.MaxAge)
	}
	if os.Getenv("TEST_NATS_URL") == "" {
		if conn.StreamName() != events.DefaultStream || conn.SubjectPrefix() != "" {
			t.Errorf("in-process defaults: stream %q prefix %q", conn.StreamName(), conn.SubjectPrefix())
		}
		if cfg.MaxAge != events.DefaultMaxAge {
			t.Errorf("max age %s, want %s", cfg.MaxAge, events.DefaultMaxAge)
		}
	}
}

// Connecting again with the same options (the same data directory in-process)
// finds the stream and what it stored: create-or-update is idempotent.
func TestConnectTwice(t *testing.T) {
	o := eventstest.Options(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	c1, err := events.Connect(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c1.JetStream().Publish(ctx, c1.SubjectPrefix()+"dossiers.X.received", []byte(`{}`), jetstream.WithMsgID("one")); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("TEST_NATS_URL") != "" {
		// Two at once against a shared server work too.
		c2, err := events.Connect(ctx, o)
		if err != nil {
			t.Fatalf("second concurrent Connect: %v", err)
		}
		c2.Close()
	}
	c1.Close()
	c1.Close() // twice is fine
	if err := c1.Ping(ctx); err == nil {
		t.Error("Ping after Close succeeded")
	}

	c2 := eventstest.Connect(t, o)
	if err := c2.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if n := eventstest.StreamMsgs(t, c2); n != 1 {
		t.Errorf("stream holds %d messages after reconnecting, want 1", n)
	}
	// The same message id again is a duplicate.
	ack, err := c2.JetStream().Publish(ctx, c2.SubjectPrefix()+"dossiers.X.received", []byte(`{}`), jetstream.WithMsgID("one"))
	if err != nil {
		t.Fatal(err)
	}
	if !ack.Duplicate {
		t.Error("republished message id not reported as a duplicate")
	}
}

func TestConnectErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := events.Connect(ctx, events.Options{}); err == nil {
		t.Error("Connect with neither URL nor DataDir succeeded")
	}
	if _, err := events.Connect(ctx, events.Options{DataDir: t.TempDir(), SubjectPrefix: "no-dot"}); err == nil {
		t.Error("Connect with a prefix not ending in a dot succeeded")
	}
}

func TestValidSubject(t *testing.T) {
	for s, want := range map[string]bool{
		"dossiers.000_00_07_H29.received": true,
		"t12ab.dossiers.H29.overdue":      true,
		"dossiers.Hà_Nội.received":        true,
		"":                                false,
		"dossiers.bad subject.received":   false,
		"dossiers..received":              false,
		".dossiers.a":                     false,
		"dossiers.a.":                     false,
		"dossiers.*.received":             false,
		"dossiers.>":                      false,
		"dossiers.a\tb.received":          false,
		"dossiers.a\nb.received":          false,
		"dossiers.a\x00b.received":        false,
		"dossiers.a\u00a0b.received":      false,
		"dossiers.\xff.received":          false,
	} {
		if got := events.ValidSubject(s); got != want {
			t.Errorf("ValidSubject(%q) = %v, want %v", s, got, want)
		}
	}
}

// BindStream finds the stream without creating or changing it.
func TestConnectBindStream(t *testing.T) {
	o := eventstest.ListeningOptions(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	bind := o
	bind.BindStream = true
	if c, err := events.Connect(ctx, bind); err == nil {
		c.Close()
		t.Fatal("BindStream connected to a stream that does not exist")
	}
	c1 := eventstest.Connect(t, o)
	s, err := c1.JetStream().Stream(ctx, c1.StreamName())
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	cfg.MaxAge = 5 * time.Hour
	if _, err := c1.JetStream().UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	c2 := eventstest.Connect(t, bind)
	if err := c2.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	s, err = c2.JetStream().Stream(ctx, c2.StreamName())
	if err != nil {
		t.Fatal(err)
	}
	if got := s.CachedInfo().Config.MaxAge; got != 5*time.Hour {
		t.Errorf("max age %s after a bound connection, want the 5h set before", got)
	}
}
