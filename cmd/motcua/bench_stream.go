package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/motcua/motcua/events"
)

// streamStats is what the stream scenario saw besides the latencies.
type streamStats struct {
	commands int // commands acknowledged by the service
	events   int // their events received from the stream
	paced    time.Duration
	// own is each acknowledged command's time from sending to its answer
	// (a transfer's with the read before it), sorted: the part of commit
	// to stream spent before the commit, as the event's time is taken
	// before the command's transaction.
	own []time.Duration
}

// streamRun measures "commit to stream" (docs/benchmarks.md): it paces commands at
// o.rate a second for the duration, intakes and transfers alternately, and
// times each event from its commit to its arrival here from JetStream. The
// start is the event's time (occurred_at, taken just before the command's
// transaction, so the measure errs long); the end is when this process
// receives it through an ordered consumer. Run as its own process, the tool
// leaves the service's CPU to the service.
func (b *bencher) streamRun(ctx context.Context, cfg Config) (benchResult, streamStats, error) {
	var st streamStats
	start := time.Now()
	tail, err := startTail(ctx, cfg, b.o.agency, start)
	if err != nil {
		return benchResult{}, st, err
	}
	defer tail.stop()
	done, failed, first, own := b.pace(ctx)
	st.paced = time.Since(start)
	st.commands, st.own = done, own
	if first != nil {
		fmt.Printf("# stream: first error: %v\n", first)
	}
	// Each command, intake or transfer, writes one event.
	for wait := time.Now().Add(10 * time.Second); time.Now().Before(wait) && ctx.Err() == nil; time.Sleep(20 * time.Millisecond) {
		if tail.count() >= st.commands {
			break
		}
	}
	all := tail.sorted()
	st.events = len(all)
	if len(all) == 0 {
		return benchResult{}, st, errors.New("bench stream: no event arrived from the stream")
	}
	return benchResult{rate: float64(st.commands) / st.paced.Seconds(), errors: failed, latencies: all}, st, nil
}

// streamTail follows the agency's events on the stream and keeps each
// event's latency from its time to its arrival here.
type streamTail struct {
	conn      *events.Conn
	consumer  jetstream.ConsumeContext
	mu        sync.Mutex
	latencies []time.Duration
}

// startTail subscribes through an ordered consumer to new events; only
// events whose time is not before start are this run's.
func startTail(ctx context.Context, cfg Config, agency string, start time.Time) (*streamTail, error) {
	subject, err := tailSubject(cfg.SubjectPrefix, agency, "")
	if err != nil {
		return nil, err
	}
	conn, err := connectReader(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), "bench stream")
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	cons, err := conn.JetStream().OrderedConsumer(cctx, conn.StreamName(), jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{subject}, DeliverPolicy: jetstream.DeliverNewPolicy})
	cancel()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("bench stream: consumer: %w", err)
	}
	t := &streamTail{conn: conn}
	t.consumer, err = cons.Consume(func(m jetstream.Msg) {
		arrived := time.Now()
		var ev struct {
			Time time.Time `json:"time"`
		}
		if json.Unmarshal(m.Data(), &ev) != nil || ev.Time.Before(start) {
			return // not one of this run's events
		}
		t.mu.Lock()
		t.latencies = append(t.latencies, arrived.Sub(ev.Time))
		t.mu.Unlock()
	})
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("bench stream: %w", err)
	}
	return t, nil
}

func (t *streamTail) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.latencies)
}

// sorted returns the latencies so far, shortest first.
func (t *streamTail) sorted() []time.Duration {
	t.mu.Lock()
	all := append([]time.Duration(nil), t.latencies...)
	t.mu.Unlock()
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	return all
}

func (t *streamTail) stop() {
	t.consumer.Stop()
	t.conn.Close()
}

// pace sends o.rate commands a second for the duration on o.connections
// connections, intakes and transfers alternately, and returns how many
// succeeded, how many failed and the first error.
func (b *bencher) pace(ctx context.Context) (done, failed int, first error, own []time.Duration) {
	jobs := make(chan int, b.o.connections)
	var (
		wg         sync.WaitGroup
		nDone, nKO atomic.Int64
		once       sync.Once // keeps the first error (errors differ in type: no atomic.Value)
		mu         sync.Mutex
	)
	for w := 0; w < b.o.connections; w++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, seed*104729))
			for i := range jobs {
				op := b.intake
				if i%2 == 1 {
					op = b.transition
				}
				sent := time.Now()
				if err := op(ctx, rng); err != nil {
					nKO.Add(1)
					once.Do(func() { first = err })
					continue
				}
				took := time.Since(sent)
				mu.Lock()
				own = append(own, took)
				mu.Unlock()
				nDone.Add(1)
			}
		}(uint64(w + 1))
	}
	total := int(float64(b.o.rate) * b.o.duration.Seconds())
	tick := time.NewTicker(time.Second / time.Duration(b.o.rate))
	for i := 0; i < total && ctx.Err() == nil; i++ {
		<-tick.C
		jobs <- i // blocks when every connection is busy: the rate then falls, and is reported
	}
	tick.Stop()
	close(jobs)
	wg.Wait()
	slices.Sort(own)
	return int(nDone.Load()), int(nKO.Load()), first, own
}
