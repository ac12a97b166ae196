package events_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/motcua/motcua/events"
	"github.com/motcua/motcua/events/eventstest"
	"github.com/motcua/motcua/service"
)

// Fault tests: real servers, bounded waits, no sleeping as an assertion.

// feed adds recs to the outbox in chunks, waking the relay after each, as a
// burst of transitions would; it returns when all are in.
func feed(ob *fakeOutbox, relay *events.Relay, recs []service.OutboxRecord, chunk int) {
	for i := 0; i < len(recs); i += chunk {
		ob.add(recs[i:min(i+chunk, len(recs))]...)
		relay.Wake()
		time.Sleep(time.Millisecond) // pacing, not a wait for anything
	}
}

// published is how many records the outbox has marked published.
func (f *fakeOutbox) publishedCount() int { p, _, _ := f.counts(); return p }

// NATS stops in the middle of a burst of 1,000 events and starts again on
// the same port with the same store: the relay's connection reconnects by
// itself, and every event is in the stream exactly once, in order per
// dossier.
func TestFaultNATSRestartDuringBurst(t *testing.T) {
	srv := eventstest.StartServer(t, "")
	conn := eventstest.Connect(t, events.Options{URL: srv.URL(), Stream: "FAULTS", Logger: eventstest.Logger()})
	recs := records(t, 1, 1000, 50)
	ob := newFakeOutbox()
	reg := prometheus.NewRegistry()
	relay := events.NewRelay(conn, ob, events.RelayOptions{
		Logger: eventstest.Logger(), Metrics: events.NewMetrics(reg), BatchSize: 64,
		AckTimeout: time.Second, MaxBackoff: 300 * time.Millisecond,
	})
	runRelay(t, relay)

	fed := make(chan struct{})
	go func() { defer close(fed); feed(ob, relay, recs, 10) }()
	waitFor(t, 20*time.Second, "a quarter of the burst published", func() bool { return ob.publishedCount() >= 250 })
	srv.Stop()
	stoppedAt := ob.publishedCount()
	waitFor(t, 10*time.Second, "the client to notice", func() bool { return !conn.NATS().IsConnected() })
	<-fed // the rest of the burst arrives while NATS is away
	if metricValue(t, reg, "motcua_nats_connected", nil) != 0 {
		t.Error("nats_connected is not 0 while the server is down")
	}
	if p := ob.publishedCount(); p == len(recs) {
		t.Fatalf("all published before the server stopped (%d at the stop): the fault came too late", stoppedAt)
	}
	srv.Start()
	waitFor(t, 60*time.Second, "every event published after the restart", func() bool { return ob.publishedCount() == len(recs) })
	t.Logf("published %d before the stop, %d when it came back; reconnects %d, duplicates dropped %v",
		stoppedAt, ob.publishedCount(), conn.NATS().Stats().Reconnects, metricValue(t, reg, "motcua_relay_duplicates_total", nil))
	if conn.NATS().Stats().Reconnects < 1 {
		t.Error("the connection did not reconnect")
	}
	checkStream(t, conn, recs)
}

// The relay is killed between publishing and marking (its context ends as
// the first mark starts, and the mark fails): nothing is marked though
// events are in the stream. A new relay publishes everything again; the
// stream drops what it already had as duplicates (same id) and nothing is
// missing.
func TestFaultRelayKilledBetweenPublishAndMark(t *testing.T) {
	conn := eventstest.Conn(t)
	recs := records(t, 1, 300, 20)
	ob := newFakeOutbox(recs...)
	ctx, kill := context.WithCancel(context.Background())
	defer kill()
	var kills sync.Once
	ob.onMark = func([]int64) error {
		kills.Do(kill)
		return errors.New("killed")
	}
	first := events.NewRelay(conn, ob, events.RelayOptions{Logger: eventstest.Logger(), BatchSize: 64})
	done := make(chan error, 1)
	go func() { done <- first.Run(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the relay did not stop")
	}
	if p := ob.publishedCount(); p != 0 {
		t.Fatalf("%d marked published by the killed relay", p)
	}
	// A synchronous publish on the same connection: once acknowledged, the
	// stream has stored everything the killed relay sent before it.
	js := conn.JetStream()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ack, err := js.Publish(sctx, conn.SubjectPrefix()+"dossiers.SENTINEL.received", []byte("{}"))
	if err != nil {
		t.Fatal(err)
	}
	stored := eventstest.StreamMsgs(t, conn) - 1
	stream, err := js.Stream(sctx, conn.StreamName())
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.DeleteMsg(sctx, ack.Sequence); err != nil {
		t.Fatal(err)
	}
	if stored == 0 {
		t.Fatal("the killed relay stored nothing: the fault came too early")
	}

	ob.mu.Lock()
	ob.onMark = nil
	ob.mu.Unlock()
	reg := prometheus.NewRegistry()
	second := events.NewRelay(conn, ob, events.RelayOptions{Logger: eventstest.Logger(), Metrics: events.NewMetrics(reg)})
	if err := second.Flush(sctx); err != nil {
		t.Fatal(err)
	}
	if p := ob.publishedCount(); p != len(recs) {
		t.Fatalf("%d marked published, want %d", p, len(recs))
	}
	dups := metricValue(t, reg, "motcua_relay_duplicates_total", nil)
	t.Logf("the killed relay stored %d of %d; the new one had %v dropped as duplicates", stored, len(recs), dups)
	if dups != float64(stored) {
		t.Errorf("%v republished events dropped as duplicates, want %d (all the killed relay stored)", dups, stored)
	}
	checkStream(t, conn, recs)
}

// A three-node JetStream cluster, the stream replicated three times, loses
// the stream's leader while the relay publishes: the stream elects another
// and nothing is lost or stored twice.
func TestFaultClusterNodeLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node cluster")
	}
	cl := eventstest.StartCluster(t, 3)
	opts := events.Options{URL: cl.URLs(), Stream: "FAULTS", Replicas: 3, Logger: eventstest.Logger()}
	var conn *events.Conn
	deadline := time.Now().Add(30 * time.Second)
	for conn == nil {
		// The metadata leader may still be learning its peers: a stream
		// of three replicas needs all three.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, err := events.Connect(ctx, opts)
		cancel()
		if err == nil {
			conn = c
			t.Cleanup(c.Close)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("connect to the cluster: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	stream, err := conn.JetStream().Stream(ctx, conn.StreamName())
	if err != nil {
		t.Fatal(err)
	}
	if r := stream.CachedInfo().Config.Replicas; r != 3 {
		t.Fatalf("stream replicas %d, want 3", r)
	}

	recs := records(t, 1, 1000, 50)
	ob := newFakeOutbox()
	reg := prometheus.NewRegistry()
	relay := events.NewRelay(conn, ob, events.RelayOptions{
		Logger: eventstest.Logger(), Metrics: events.NewMetrics(reg), BatchSize: 64,
		AckTimeout: 2 * time.Second, MaxBackoff: 500 * time.Millisecond,
	})
	runRelay(t, relay)
	fed := make(chan struct{})
	go func() { defer close(fed); feed(ob, relay, recs, 10) }()
	waitFor(t, 30*time.Second, "a quarter published", func() bool { return ob.publishedCount() >= 250 })

	info, err := stream.Info(ctx)
	if err != nil || info.Cluster == nil || info.Cluster.Leader == "" {
		t.Fatalf("stream leader: %v %+v", err, info)
	}
	leader := cl.Server(info.Cluster.Leader)
	if leader == nil {
		t.Fatalf("no node named %s", info.Cluster.Leader)
	}
	stoppedAt := ob.publishedCount()
	leader.Stop()
	<-fed
	waitFor(t, 60*time.Second, "every event published after losing a node", func() bool { return ob.publishedCount() == len(recs) })
	info, err = stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stopped leader %s with %d published; new leader %s; duplicates dropped %v, publish errors %v, reconnects %d",
		leader.Name(), stoppedAt, info.Cluster.Leader, metricValue(t, reg, "motcua_relay_duplicates_total", nil),
		metricValue(t, reg, "motcua_relay_publish_errors_total", nil), conn.NATS().Stats().Reconnects)
	if info.Cluster.Leader == leader.Name() {
		t.Errorf("leader is still the stopped node %s", leader.Name())
	}
	checkStream(t, conn, recs)
}
