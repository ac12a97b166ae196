// Package eventstest gives tests a real NATS JetStream connection: the server
// named by TEST_NATS_URL (with a stream and subject prefix of the test's own,
// deleted afterwards), or else an in-process server in a temporary directory.
package eventstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/events"
)

const setupTimeout = 30 * time.Second

// Logger logs warnings and errors to stderr (not through t.Log: NATS calls
// back from its own goroutines, possibly after the test has ended).
func Logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// Options returns connection options for a test. With TEST_NATS_URL set they
// name that server, a unique stream ("T" + random hex) and a unique subject
// prefix ("t<hex>."), and the stream is deleted when the test ends. Without
// it, they start an in-process server under t.TempDir(), unless CI is "true"
// (then the test fails: CI must test against a real server).
func Options(t testing.TB) events.Options {
	t.Helper()
	url := os.Getenv("TEST_NATS_URL")
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("TEST_NATS_URL is not set and CI=true")
		}
		return events.Options{DataDir: t.TempDir(), Logger: Logger()}
	}
	id := randomHex(t)
	o := events.Options{
		URL:           url,
		Stream:        "T" + strings.ToUpper(id),
		SubjectPrefix: "t" + id + ".",
		MaxAge:        24 * time.Hour,
		Logger:        Logger(),
	}
	t.Cleanup(func() { deleteStream(t, o) })
	return o
}

// ListeningOptions is Options for a test that needs a server other
// connections can reach by URL (a second client, a subcommand): TEST_NATS_URL
// as in Options, or else a server of the test's own listening on a random
// 127.0.0.1 port (StartServer), with a unique stream and subject prefix all
// the same.
func ListeningOptions(t testing.TB) events.Options {
	t.Helper()
	if os.Getenv("TEST_NATS_URL") != "" {
		return Options(t)
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("TEST_NATS_URL is not set and CI=true")
	}
	id := randomHex(t)
	return events.Options{
		URL:           StartServer(t, "").URL(),
		Stream:        "T" + strings.ToUpper(id),
		SubjectPrefix: "t" + id + ".",
		MaxAge:        24 * time.Hour,
		Logger:        Logger(),
	}
}

// Conn connects with Options(t) and closes the connection when the test ends.
func Conn(t testing.TB) *events.Conn {
	t.Helper()
	return Connect(t, Options(t))
}

// Connect connects with o and closes the connection when the test ends.
func Connect(t testing.TB, o events.Options) *events.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	c, err := events.Connect(ctx, o)
	if err != nil {
		t.Fatalf("events.Connect: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

func deleteStream(t testing.TB, o events.Options) {
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	c, err := events.Connect(ctx, o) // creates it if a test deleted it: harmless
	if err != nil {
		t.Errorf("cleanup: connect to delete stream %s: %v", o.Stream, err)
		return
	}
	defer c.Close()
	if err := c.JetStream().DeleteStream(ctx, o.Stream); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("cleanup: delete stream %s: %v", o.Stream, err)
	}
}

func randomHex(t testing.TB) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// Messages reads the stream from the start with an ordered consumer until it
// has n messages or timeout passes (then the test fails). Messages past the
// n-th are not read: use StreamMsgs to check there are no more.
func Messages(t testing.TB, c *events.Conn, n int, timeout time.Duration) []jetstream.Msg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cons, err := c.JetStream().OrderedConsumer(ctx, c.StreamName(), jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{c.SubjectPrefix() + domain.SubjectRoot + ">"},
		DeliverPolicy:  jetstream.DeliverAllPolicy,
	})
	if err != nil {
		t.Fatalf("ordered consumer: %v", err)
	}
	var msgs []jetstream.Msg
	for len(msgs) < n {
		wait := time.Until(deadline(ctx))
		if wait <= 0 {
			t.Fatalf("read %d of %d messages from stream %s within %s", len(msgs), n, c.StreamName(), timeout)
		}
		batch, err := cons.Fetch(n-len(msgs), jetstream.FetchMaxWait(min(wait, 2*time.Second)))
		if errors.Is(err, nats.ErrNoResponders) {
			// A clustered stream between two leaders (fault tests): ask again.
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if err != nil {
			t.Fatalf("fetch: %v", err)
		}
		for m := range batch.Messages() {
			msgs = append(msgs, m)
		}
		if err := batch.Error(); errors.Is(err, nats.ErrNoResponders) {
			time.Sleep(100 * time.Millisecond)
		} else if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, jetstream.ErrNoMessages) {
			t.Fatalf("fetch: %v", err)
		}
	}
	return msgs
}

func deadline(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}

// StreamMsgs returns how many messages the stream holds.
func StreamMsgs(t testing.TB, c *events.Conn) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := c.JetStream().Stream(ctx, c.StreamName())
	if err != nil {
		t.Fatalf("stream %s: %v", c.StreamName(), err)
	}
	return s.CachedInfo().State.Msgs
}
