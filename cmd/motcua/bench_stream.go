package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// streamStats is what the stream scenario saw besides the latencies.
type streamStats struct {
	commands int // commands acknowledged by the service
	events   int // their events received from the stream
	paced    time.Duration
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
	subject, err := tailSubject(cfg.SubjectPrefix, b.o.agency, "")
	if err != nil {
		return benchResult{}, st, err
	}
	conn, err := connectReader(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), "bench stream")
	if err != nil {
		return benchResult{}, st, err
	}
	defer conn.Close()
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	cons, err := conn.JetStream().OrderedConsumer(cctx, conn.StreamName(), jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{subject}, DeliverPolicy: jetstream.DeliverNewPolicy})
	cancel()
	if err != nil {
		return benchResult{}, st, fmt.Errorf("bench stream: consumer: %w", err)
	}
	var (
		mu        sync.Mutex
		latencies []time.Duration
	)
	start := time.Now()
	consumer, err := cons.Consume(func(m jetstream.Msg) {
		arrived := time.Now()
		var ev struct {
			Time time.Time `json:"time"`
		}
		if json.Unmarshal(m.Data(), &ev) != nil || ev.Time.Before(start) {
			return // not one of this run's events
		}
		mu.Lock()
		latencies = append(latencies, arrived.Sub(ev.Time))
		mu.Unlock()
	})
	if err != nil {
		return benchResult{}, st, fmt.Errorf("bench stream: %w", err)
	}
	defer consumer.Stop()

	jobs := make(chan int, b.o.connections)
	var (
		wg     sync.WaitGroup
		done   atomic.Int64
		failed atomic.Int64
		once   sync.Once // keeps the first error (errors differ in type: no atomic.Value)
		first  error
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
				if err := op(ctx, rng); err != nil {
					failed.Add(1)
					once.Do(func() { first = err })
					continue
				}
				done.Add(1)
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
	st.paced = time.Since(start)
	st.commands = int(done.Load())
	if first != nil {
		fmt.Printf("# stream: first error: %v\n", first)
	}
	// Each command, intake or transfer, writes one event.
	for wait := time.Now().Add(10 * time.Second); time.Now().Before(wait) && ctx.Err() == nil; time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		n := len(latencies)
		mu.Unlock()
		if n >= st.commands {
			break
		}
	}
	mu.Lock()
	all := append([]time.Duration(nil), latencies...)
	mu.Unlock()
	st.events = len(all)
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	if len(all) == 0 {
		return benchResult{}, st, errors.New("bench stream: no event arrived from the stream")
	}
	return benchResult{rate: float64(st.commands) / st.paced.Seconds(), errors: int(failed.Load()), latencies: all}, st, nil
}
