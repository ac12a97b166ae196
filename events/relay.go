package events

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/motcua/motcua/service"
)

// Defaults of RelayOptions.
const (
	DefaultBatchSize    = 1024
	DefaultPollInterval = time.Second
	DefaultMaxBackoff   = 30 * time.Second
	DefaultAckTimeout   = 5 * time.Second

	minBackoff    = 250 * time.Millisecond
	backlogEvery  = time.Second
	markTimeout   = 10 * time.Second
	headerMsgID   = "Nats-Msg-Id"
	headerContent = "Content-Type"
)

// Reasons an event is parked (the label of motcua_events_parked_total).
const (
	ParkEncode   = "encode"    // not a valid CloudEvent: data not a JSON object, no id, ...
	ParkSubject  = "subject"   // a subject NATS would reject, or outside the stream
	ParkTooLarge = "too_large" // larger than the server's maximum payload
)

// RelayOptions tune the relay; zero values take the defaults.
type RelayOptions struct {
	// BatchSize is how many new outbox rows one read takes; default 1024
	// (against 256: 12% more events a second through PostgreSQL here).
	BatchSize int
	// MaxInFlight is how many events may wait for JetStream's
	// acknowledgement at once (at most one per dossier); default twice
	// BatchSize, eight times with a CursorReader.
	MaxInFlight int
	// PollInterval is how often the outbox is read without a wake-up; default
	// 1s. It is the safety net: Wake is the fast path.
	PollInterval time.Duration
	// MaxBackoff caps the wait after failed passes; default 30s.
	MaxBackoff time.Duration
	// AckTimeout is how long to wait for JetStream to acknowledge; default 5s.
	AckTimeout time.Duration
	// Logger; default slog.Default().
	Logger *slog.Logger
	// Metrics, or nil.
	Metrics *Metrics

	pumpLifetime time.Duration // default pumpLifetime (tests shorten or lengthen it)
	markLinger   time.Duration // default markLinger (tests lengthen it)
}

// Relay publishes the outbox to JetStream, in order, at least once (exactly
// once in the stream, thanks to Nats-Msg-Id within the duplicate window).
//
// How it works, by file. Run (this file) calls pump whenever it is woken
// (Wake, after a commit that wrote events) or every PollInterval, and backs
// off after a failed pump. A pump (relay_pipeline.go) runs one pipeline:
//
//   - read: fill takes the next batch of pending outbox rows (beside the
//     publishing, with a CursorReader) while the window has room; take builds
//     each row's message (relay_message.go; one that can never go is parked)
//     and queues it under its dossier.
//   - publish: dispatch sends the first queued event of each dossier with
//     nothing in flight, up to MaxInFlight; so a dossier has at most one event
//     in flight, and its events reach the stream in outbox order.
//   - acknowledge (relay_ack.go): next and handle take JetStream's answers in
//     the order sent; an acknowledged event joins toMark and frees its
//     dossier's next one; a refused one is parked; any other failure stops
//     the pump and leaves that dossier's events for the next pump.
//   - mark: startMark writes the acknowledged batch published in the
//     background, one call at a time; a failed mark only means the next pump
//     publishes those events again and JetStream drops them as duplicates.
//     Under Run an acknowledged event may wait up to markLinger for others
//     to join its mark, the pump taking wake-ups meanwhile.
//
// A row is "known" from its read until it is marked, parked or given up on,
// so a read that returns it again does not queue it twice. The pump ends when
// the outbox is drained, nothing is in flight and everything acknowledged is
// marked, or after a failure once what is in flight has answered and what
// was acknowledged is marked.
type Relay struct {
	conn   *Conn
	reader service.OutboxReader
	opts   RelayOptions
	js     jetstream.JetStream
	log    *slog.Logger
	m      *Metrics
	wake   chan struct{}

	mu          sync.Mutex // one pump at a time; guards what follows
	lastBacklog time.Time
	floor       int64   // the highest seq a pump read
	gaps        []int64 // seqs the last pump found missing above the floor before it
}

var _ service.Waker = (*Relay)(nil)

// NewRelay makes a relay from the outbox to the connection's stream.
func NewRelay(conn *Conn, reader service.OutboxReader, opts RelayOptions) *Relay {
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.MaxInFlight < opts.BatchSize {
		// Reading again what it holds, the relay would read up to
		// MaxInFlight rows for BatchSize new ones: a small window for a
		// plain reader, a large one for a CursorReader.
		opts.MaxInFlight = 2 * opts.BatchSize
		if _, ok := reader.(CursorReader); ok {
			opts.MaxInFlight = 8 * opts.BatchSize
		}
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	if opts.AckTimeout <= 0 {
		opts.AckTimeout = DefaultAckTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.pumpLifetime <= 0 {
		opts.pumpLifetime = pumpLifetime
	}
	if opts.markLinger <= 0 {
		opts.markLinger = markLinger
	}
	// A publishing context of its own: acknowledgements time out after
	// AckTimeout, and the whole window fits in its pending limit.
	js, err := jetstream.New(conn.NATS(),
		jetstream.WithPublishAsyncTimeout(opts.AckTimeout),
		jetstream.WithPublishAsyncMaxPending(opts.MaxInFlight))
	if err != nil { // only on invalid options
		js = conn.JetStream()
	}
	opts.Metrics.watch(conn)
	return &Relay{
		conn: conn, reader: reader, opts: opts, js: js,
		log: opts.Logger, m: opts.Metrics, wake: make(chan struct{}, 1),
	}
}

// Wake makes Run read the outbox at once; it never blocks.
func (r *Relay) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run publishes the outbox until ctx ends, then returns nil. It never gives
// up: a failed pass is tried again after a growing wait (up to MaxBackoff).
func (r *Relay) Run(ctx context.Context) error {
	ticker := time.NewTicker(r.opts.PollInterval)
	defer ticker.Stop()
	// What an earlier Run read is no floor for this one: another instance
	// may have relayed since (the seqs above it would all look missing).
	r.mu.Lock()
	r.floor, r.gaps = 0, nil
	r.mu.Unlock()
	failures := 0
	for {
		_, again, err := r.pump(ctx, true)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			failures++
			d := r.backoff(failures)
			r.log.Warn("event relay: pass failed, will retry", "err", err, "retry_in", d, "failures", failures)
			if !Sleep(ctx, d) {
				return nil
			}
			continue
		}
		if failures > 0 {
			r.log.Info("event relay: publishing again", "after_failures", failures)
			failures = 0
		}
		if again {
			continue // a long pump ended: a new one reads from the oldest pending row
		}
		// pump read until it found nothing more: wait for a wake-up.
		select {
		case <-ctx.Done():
			return nil
		case <-r.wake:
		case <-ticker.C:
		}
	}
}

// Flush publishes until the outbox has nothing pending, or ctx ends (then it
// returns ctx's error). For graceful shutdown, after Run has returned.
func (r *Relay) Flush(ctx context.Context) error {
	failures := 0
	for {
		n, _, err := r.pump(ctx, false)
		if err == nil && n == 0 {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err == nil {
			failures = 0
			continue
		}
		failures++
		d := r.backoff(failures)
		r.log.Warn("event relay: flush pass failed, will retry", "err", err, "retry_in", d, "failures", failures)
		if !Sleep(ctx, d) {
			return fmt.Errorf("events: flush: %w (last error: %v)", ctx.Err(), err)
		}
	}
}

func (r *Relay) backoff(failures int) time.Duration {
	d := minBackoff
	for i := 1; i < failures && d < r.opts.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, r.opts.MaxBackoff)
	// Up to 10% jitter, so many relays do not retry in step.
	return d - time.Duration(rand.Int64N(int64(d)/10+1))
}

// Sleep waits d, or less when ctx ends first; it reports whether the whole
// pause passed.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// updateBacklog refreshes the backlog gauges, at most once a second.
func (r *Relay) updateBacklog(ctx context.Context) {
	if r.m == nil || ctx.Err() != nil || time.Since(r.lastBacklog) < backlogEvery {
		return
	}
	r.lastBacklog = time.Now()
	n, oldest, err := r.reader.OutboxBacklog(ctx)
	if err != nil {
		r.log.Warn("event relay: cannot read the outbox backlog", "err", err)
		return
	}
	r.m.Backlog.Set(float64(n))
	age := 0.0
	if oldest != nil && n > 0 {
		age = max(time.Since(*oldest).Seconds(), 0)
	}
	r.m.OldestAge.Set(age)
}
