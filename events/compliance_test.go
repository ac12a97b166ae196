package events_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/events"
	"github.com/motcua/motcua/events/eventstest"
	"github.com/motcua/motcua/service"
)

// lateMix makes n records of every kind over three agencies and two
// procedures, late ones with their late fields, and the counts a compliance
// consumer must reach: late events per agency, procedure and kind.
func lateMix(t testing.TB, n int) ([]service.OutboxRecord, map[events.ComplianceKey]int) {
	t.Helper()
	rnd := rand.New(rand.NewPCG(5, 2026))
	all := allEventTypes(t)
	agencies := []string{"000.00.07.H29", "000.00.09.H29", "H30"}
	procedures := []string{"1.001234", "2.000635"}
	due := baseTime.Add(48 * time.Hour)
	want := map[events.ComplianceKey]int{}
	recs := make([]service.OutboxRecord, n)
	for i := range recs {
		typ := all[rnd.IntN(len(all))]
		if i%3 == 0 {
			typ = domain.DeadlineEvents[rnd.IntN(len(domain.DeadlineEvents))]
		}
		agency := agencies[rnd.IntN(len(agencies))]
		proc := procedures[rnd.IntN(len(procedures))]
		dossier := fmt.Sprintf("%s-260302-%04d", agency, rnd.IntN(40))
		recs[i] = record(t, int64(i+1), dossier, typ, agency, func(e *domain.Event) {
			e.ProcedureCode = proc
			if typ.Deadline() {
				h := float64(rnd.IntN(40)) / 2
				e.DueAt, e.OverdueWorkingHours = &due, &h
			}
		})
		if typ.Deadline() {
			want[events.ComplianceKey{Agency: agency, Procedure: proc, Kind: typ}]++
		}
	}
	return recs, want
}

func sum(m map[events.ComplianceKey]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// runCompliance runs c until it returns (a simulated crash) or the test
// ends.
func runCompliance(t *testing.T, c *events.Compliance) <-chan error {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	finished := make(chan struct{})
	go func() { done <- c.Run(ctx); close(finished) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-finished:
		case <-time.After(10 * time.Second):
			t.Error("compliance Run did not return after its context ended")
		}
	})
	return done
}

func waitCrash(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "simulated crash") {
			t.Fatalf("Run returned %v, want the simulated crash", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the consumer did not crash")
	}
}

// The compliance consumer's counts equal those computed from the records,
// through everything that delivers an event twice: the relay publishing
// again (dropped by the stream), a fact republished after the duplicate
// window (stored twice, the same CloudEvent id), a consumer killed after
// saving and before acknowledging (redelivered), one killed before saving
// (redelivered and then counted), and a restart from the state file.
func TestComplianceCountsEachLateEventOnce(t *testing.T) {
	conn := eventstest.Conn(t)
	recs, want := lateMix(t, 600)
	ob := newFakeOutbox(recs...)
	relay := events.NewRelay(conn, ob, events.RelayOptions{Logger: eventstest.Logger()})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := relay.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	ob.forget() // the relay died before marking: all published again
	if err := relay.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// Ten late facts republished after the duplicate window: the stream
	// keeps both copies (a new Nats-Msg-Id stands in for the window's end).
	again := 0
	for _, rec := range recs {
		if !rec.Type.Deadline() || again == 10 {
			continue
		}
		data, err := events.Encode(rec)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.JetStream().Publish(ctx, conn.SubjectPrefix()+rec.Subject, data, jetstream.WithMsgID("after-window-"+rec.ID)); err != nil {
			t.Fatal(err)
		}
		again++
	}
	t.Logf("%d records, %d late, in %d groups; stream holds %d", len(recs), sum(want), len(want), eventstest.StreamMsgs(t, conn))

	dir := t.TempDir()
	opts := events.ComplianceOptions{StateDir: dir, Durable: "compliance-test", Batch: 16, AckWait: time.Second, Logger: eventstest.Logger()}

	// First consumer: killed after saving its second batch, before
	// acknowledging it.
	c1, err := events.NewCompliance(conn, opts)
	if err != nil {
		t.Fatal(err)
	}
	var saves atomic.Int32
	events.CrashComplianceAt(c1, func(stage string) bool { return stage == "before-ack" && saves.Add(1) == 2 })
	waitCrash(t, runCompliance(t, c1))
	if got := c1.Stats().Counted; got == 0 || got > 32 {
		t.Fatalf("first consumer counted %d, want 1 to 32", got)
	}
	c1.Close()

	// Second: loads that state, killed before saving its first batch.
	c2, err := events.NewCompliance(conn, opts)
	if err != nil {
		t.Fatal(err)
	}
	if c2.Stats().Counted != c1.Stats().Counted || !maps.Equal(c2.Counts(), c1.Counts()) {
		t.Fatalf("state file gave %d counted, the first consumer had %d", c2.Stats().Counted, c1.Stats().Counted)
	}
	events.CrashComplianceAt(c2, func(stage string) bool { return stage == "before-save" })
	waitCrash(t, runCompliance(t, c2))
	c2.Close()

	// Third: runs until everything is counted and acknowledged.
	c3, err := events.NewCompliance(conn, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	runCompliance(t, c3)
	waitFor(t, 30*time.Second, "the counts to reach the expected total", func() bool { return sum(c3.Counts()) >= sum(want) })
	cons, err := conn.JetStream().Consumer(ctx, conn.StreamName(), "compliance-test")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "every delivery acknowledged", func() bool {
		info, err := cons.Info(ctx)
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0
	})
	if got := c3.Counts(); !maps.Equal(got, want) {
		t.Errorf("counts differ from the records':\n got %v\nwant %v", got, want)
	}
	st := c3.Stats()
	t.Logf("third consumer: %+v", st)
	if st.Counted != sum(want) || st.Invalid != 0 {
		t.Errorf("stats %+v, want %d counted and none invalid", st, sum(want))
	}
	if st.Duplicates < again+1 || st.Redelivered < 1 {
		t.Errorf("stats %+v: want at least %d duplicates (republished after the window, redelivered after the crash) and a redelivery", st, again+1)
	}
	var table bytes.Buffer
	if err := c3.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", table.String())
	for _, s := range []string{"agency", "due_soon", "completed_late", "000.00.07.H29", "H30", fmt.Sprintf(" %d", sum(want))} {
		if !strings.Contains(table.String(), s) {
			t.Errorf("table lacks %q", s)
		}
	}

	// A consumer keeping its state in memory counts the same from the
	// stream's beginning.
	mem, err := events.NewCompliance(conn, events.ComplianceOptions{Durable: "compliance-mem", Logger: eventstest.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	runCompliance(t, mem)
	waitFor(t, 30*time.Second, "the in-memory consumer's counts", func() bool { return maps.Equal(mem.Counts(), want) })
}

// A torn last line of the state file (a crash while writing) is cut off;
// other damage is an error, not silently ignored.
func TestComplianceStateFile(t *testing.T) {
	conn := eventstest.Conn(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "compliance-"+conn.StreamName()+"-d1.jsonl")
	good := `{"id":"a","agency":"H29","procedure":"1.1","kind":"overdue","stream_seq":1}` + "\n" +
		`{"id":"b","agency":"H29","procedure":"1.1","kind":"overdue","stream_seq":2}` + "\n" +
		`{"id":"a","agency":"H29","procedure":"1.1","kind":"overdue","stream_seq":3}` + "\n"
	if err := os.WriteFile(path, []byte(good+`{"id":"c","agen`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := events.NewCompliance(conn, events.ComplianceOptions{StateDir: dir, Durable: "d1"})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if got := c.Counts()[events.ComplianceKey{Agency: "H29", Procedure: "1.1", Kind: domain.EventOverdue}]; got != 2 {
		t.Errorf("count %d, want 2 (ids a and b)", got)
	}
	if b, _ := os.ReadFile(path); string(b) != good {
		t.Errorf("state file after the cut: %q", b)
	}
	if err := os.WriteFile(path, []byte("not json\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := events.NewCompliance(conn, events.ComplianceOptions{StateDir: dir, Durable: "d1"}); err == nil {
		t.Error("a damaged state file was accepted")
	}
	if _, err := events.NewCompliance(conn, events.ComplianceOptions{Durable: "bad name"}); err == nil {
		t.Error("a durable name with a space was accepted")
	}
}
