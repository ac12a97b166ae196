package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/events"
	"github.com/motcua/motcua/events/eventstest"
	"github.com/motcua/motcua/service"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// natsEnv is the environment of a subcommand reading the test's stream on a
// server other processes can reach.
func natsEnv(t *testing.T) (map[string]string, *events.Conn) {
	t.Helper()
	o := eventstest.ListeningOptions(t)
	conn := eventstest.Connect(t, o) // creates the stream
	return map[string]string{
		"NATS_URL": o.URL, "NATS_STREAM": o.Stream, "NATS_SUBJECT_PREFIX": o.SubjectPrefix,
		"DATA_DIR": t.TempDir(), "LOG_LEVEL": "error",
	}, conn
}

var t0 = time.Date(2026, 3, 2, 1, 30, 0, 0, time.UTC)

// publish publishes events as the relay would: the CloudEvent with its id
// as Nats-Msg-Id.
func publish(t *testing.T, conn *events.Conn, evs ...domain.Event) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, e := range evs {
		if e.OccurredAt.IsZero() {
			e.OccurredAt = t0
		}
		if e.Status == 0 {
			e.Status = domain.StatusProcessing
		}
		if e.Type.Deadline() && e.OverdueWorkingHours == nil {
			h, due := 1.5, t0.Add(-2*time.Hour)
			e.OverdueWorkingHours, e.DueAt = &h, &due
		}
		data, err := e.Data()
		if err != nil {
			t.Fatal(err)
		}
		id := uuid.Must(uuid.NewV7()).String()
		b, err := events.Encode(service.OutboxRecord{ID: id, Subject: e.Subject(), Type: e.Type, DossierCode: e.DossierCode, Data: data, OccurredAt: e.OccurredAt})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.JetStream().Publish(ctx, conn.SubjectPrefix()+e.Subject(), b, jetstream.WithMsgID(id)); err != nil {
			t.Fatal(err)
		}
	}
}

func ev(typ domain.EventType, agency, dossier string) domain.Event {
	return domain.Event{Type: typ, AgencyCode: agency, DossierCode: dossier, ProcedureCode: "1.001234"}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestEventsTail(t *testing.T) {
	env, conn := natsEnv(t)
	const a = "000.00.07.H29"
	publish(t, conn,
		ev(domain.EventReceived, a, "OLD-1"), ev(domain.EventOverdue, a, "OLD-1"), ev(domain.EventOverdue, "H30", "OLD-2"),
		ev(domain.EventOverdue, a, "OLD-3"), ev(domain.EventReceived, "H30", "OLD-2"))

	// Replay one agency's overdue events as JSON.
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := run(ctx, []string{"events", "tail", "--all", "--agency", a, "--type", "overdue", "--json", "-n", "2"}, envOf(env), &out, testLog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("printed %q, want two lines", out.String())
	}
	for i, l := range lines {
		e, err := events.Decode([]byte(l))
		if err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if e.Type() != "vn.motcua.dossier.overdue" || e.Extensions()["agencycode"] != a || e.Subject() != []string{"OLD-1", "OLD-3"}[i] {
			t.Errorf("line %d: %s", i, l)
		}
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) != nil {
			t.Errorf("line %d is not one JSON object", i)
		}
	}

	// By default only new events, one human line each: publish until the
	// tail has printed two (it takes none of the old ones).
	var follow syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"events", "tail", "--type", "overdue", "-n", "2"}, envOf(env), &follow, testLog(), nil)
	}()
	n := 0
wait:
	for ; n < 100; n++ {
		publish(t, conn, ev(domain.EventReceived, a, "NEW-R"), ev(domain.EventOverdue, "H30", "NEW-"+string(rune('A'+n%26))))
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			break wait
		case <-time.After(100 * time.Millisecond):
		}
	}
	if n == 100 {
		t.Fatal("tail did not print two new events")
	}
	lines = strings.Split(strings.TrimSpace(follow.String()), "\n")
	re := regexp.MustCompile(`^2026-03-02T08:30:00\+07:00  overdue +NEW-[A-Z] +agency=H30  due=2026-03-02T06:30:00\+07:00  overdue_h=1\.5$`)
	if len(lines) != 2 {
		t.Fatalf("printed %q, want two lines", follow.String())
	}
	for _, l := range lines {
		if !re.MatchString(l) {
			t.Errorf("line %q does not match %s", l, re)
		}
	}
}

func TestEventsTailErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	env := map[string]string{"DATA_DIR": t.TempDir(), "LOG_LEVEL": "error"}
	for _, args := range [][]string{{"events", "tail"}, {"compliance"}} {
		err := run(ctx, args, envOf(env), io.Discard, io.Discard, nil)
		if err == nil || !strings.Contains(err.Error(), "NATS_URL") {
			t.Errorf("%v without NATS_URL: %v, want an error naming NATS_URL", args, err)
		}
	}
	withNATS, _ := natsEnv(t)
	for _, args := range [][]string{
		{"events"}, {"events", "head"}, {"events", "tail", "--type", "late"}, {"events", "tail", "--agency", "a b"},
		{"events", "tail", "--agency", "*"}, {"events", "tail", "--all", "--since", "1h"}, {"events", "tail", "extra"},
		{"events", "tail", "-n", "-1"}, {"compliance", "--durable", "no.dots"}, {"compliance", "--every", "-1s"},
	} {
		if err := run(ctx, args, envOf(withNATS), io.Discard, io.Discard, nil); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
	missing := map[string]string{}
	for k, v := range withNATS {
		missing[k] = v
	}
	missing["NATS_STREAM"] = "NO_SUCH_STREAM"
	if err := run(ctx, []string{"events", "tail"}, envOf(missing), io.Discard, io.Discard, nil); err == nil {
		t.Error("tail of a stream that does not exist succeeded")
	}
}

func TestTailSubject(t *testing.T) {
	for _, c := range []struct{ prefix, agency, kind, want string }{
		{"", "", "", "dossiers.*.>"},
		{"", "000.00.07.H29", "", "dossiers.000_00_07_H29.>"},
		{"", "", "overdue", "dossiers.*.overdue"},
		{"t1.", "H29", "due_soon", "t1.dossiers.H29.due_soon"},
	} {
		got, err := tailSubject(c.prefix, c.agency, c.kind)
		if err != nil || got != c.want {
			t.Errorf("tailSubject(%q, %q, %q) = %q, %v; want %q", c.prefix, c.agency, c.kind, got, err, c.want)
		}
	}
}

// The compliance command counts the late events (not the lifecycle ones),
// prints its table on SIGUSR1 and at exit, and keeps its state under
// DATA_DIR: a second run starts from it.
func TestComplianceCommand(t *testing.T) {
	env, conn := natsEnv(t)
	publish(t, conn,
		ev(domain.EventOverdue, "000.00.07.H29", "D1"), ev(domain.EventOverdue, "000.00.07.H29", "D2"),
		ev(domain.EventDueSoon, "000.00.07.H29", "D1"), ev(domain.EventStepOverdue, "H30", "D3"),
		ev(domain.EventCompletedLate, "H30", "D3"), ev(domain.EventExtensionOverdue, "H30", "D4"),
		ev(domain.EventReceived, "H30", "D5"), ev(domain.EventProcessed, "H30", "D3"))
	const durable = "cmd-test"

	runOnce := func(signal bool, extra ...string) string {
		var out syncBuffer
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, append([]string{"compliance", "--durable", durable}, extra...), envOf(env), &out, testLog(), nil)
		}()
		if signal {
			// The consumer exists once the command listens for SIGUSR1.
			waitUntil(t, 20*time.Second, "the durable consumer", func() bool {
				cctx, ccancel := context.WithTimeout(context.Background(), time.Second)
				defer ccancel()
				_, err := conn.JetStream().Consumer(cctx, conn.StreamName(), durable)
				return err == nil
			})
			waitUntil(t, 20*time.Second, "a table on SIGUSR1 with six counted", func() bool {
				if strings.Contains(out.String(), ": 6 counted") {
					return true
				}
				if err := syscall.Kill(syscall.Getpid(), syscall.SIGUSR1); err != nil {
					t.Fatal(err)
				}
				time.Sleep(50 * time.Millisecond)
				return false
			})
		} else {
			waitUntil(t, 20*time.Second, "a periodic table", func() bool { return strings.Contains(out.String(), "# late-processing") })
		}
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Fatal(err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("compliance did not stop")
		}
		return out.String()
	}

	first := runOnce(true)
	tables := strings.Count(first, "# late-processing events")
	if tables < 2 {
		t.Errorf("want a table on SIGUSR1 and one at exit, got:\n%s", first)
	}
	last := first[strings.LastIndex(first, "# late-processing"):]
	for _, re := range []string{
		`(?m)^agency +procedure +due_soon +step_overdue +overdue +extension_overdue +completed_late +total *$`,
		`(?m)^000\.00\.07\.H29 +1\.001234 +1 +0 +2 +0 +0 +3 *$`,
		`(?m)^H30 +1\.001234 +0 +1 +0 +1 +1 +3 *$`,
		`(?m)^total +1 +1 +2 +1 +1 +6 *$`,
	} {
		if !regexp.MustCompile(re).MatchString(last) {
			t.Errorf("final table lacks %s:\n%s", re, last)
		}
	}
	// Again: the state file under DATA_DIR has the six; nothing counts twice.
	second := runOnce(false, "--every", "20ms")
	if !strings.Contains(second, ": 6 counted") {
		t.Errorf("second run:\n%s", second)
	}
}

// motcua events parked lists what the relay parked, with the reason, and
// motcua events requeue makes it pending again (SQLite under DATA_DIR).
func TestEventsParkedAndRequeue(t *testing.T) {
	ctx := context.Background()
	env := map[string]string{"DATA_DIR": t.TempDir(), "LOG_LEVEL": "error"}
	cmd := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, append([]string{"events"}, args...), envOf(env), &out, io.Discard, nil)
		return out.String(), err
	}
	if out, err := cmd("parked"); err != nil || !strings.Contains(out, "no parked events") {
		t.Fatalf("parked on an empty outbox: %q, %v", out, err)
	}
	st, err := store.Open(ctx, store.Options{DataDir: env["DATA_DIR"], Logger: storetest.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ev := domain.Event{Type: domain.EventReceived, DossierCode: "000.00.10.H29-261125-0001", AgencyCode: "000.00.10.H29", OccurredAt: time.Now()}
	if err := st.InTx(ctx, func(tx service.Tx) error { return tx.WriteEvents(ctx, []domain.Event{ev, ev}) }); err != nil {
		t.Fatal(err)
	}
	recs, err := st.PendingEvents(ctx, 10)
	if err != nil || len(recs) != 2 {
		t.Fatalf("%d pending, %v", len(recs), err)
	}
	for _, r := range recs {
		if err := st.MarkFailed(ctx, r.Seq, "too_large: message of about 2000000 bytes", true); err != nil {
			t.Fatal(err)
		}
	}
	out, err := cmd("parked", "-n", "1")
	if err != nil || !strings.Contains(out, "too_large: message of about") || !strings.Contains(out, ev.DossierCode) ||
		strings.Count(out, "\n") != 2 { // the header and one event
		t.Fatalf("parked -n 1: %q, %v", out, err)
	}
	if out, err := cmd("requeue", strconv.FormatInt(recs[0].Seq, 10)); err != nil || out != "1 events requeued\n" {
		t.Fatalf("requeue one: %q, %v", out, err)
	}
	if out, err := cmd("requeue", "--all"); err != nil || out != "1 events requeued\n" {
		t.Fatalf("requeue --all: %q, %v", out, err)
	}
	if left, _, err := st.OutboxBacklog(ctx); err != nil || left != 2 {
		t.Fatalf("backlog %d (%v) after requeuing, want 2", left, err)
	}
	for _, bad := range [][]string{{"requeue"}, {"requeue", "--all", "1"}, {"requeue", "x"}, {"requeue", "0"}, {"parked", "-n", "0"}, {"parked", "extra"}} {
		if _, err := cmd(bad...); err == nil || !strings.Contains(err.Error(), "usage") {
			t.Errorf("events %v: %v, want a usage error", bad, err)
		}
	}
}
