package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/motcua/motcua/service"
)

// Defaults of RelayOptions.
const (
	DefaultBatchSize    = 256
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
	// BatchSize is how many outbox rows one pass reads; default 256.
	BatchSize int
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
}

// Relay publishes the outbox to JetStream, in order, at least once (exactly
// once in the stream, thanks to Nats-Msg-Id within the duplicate window).
type Relay struct {
	conn   *Conn
	reader service.OutboxReader
	opts   RelayOptions
	js     jetstream.JetStream
	log    *slog.Logger
	m      *Metrics
	wake   chan struct{}

	mu          sync.Mutex // one pass at a time
	lastBacklog time.Time
}

var _ service.Waker = (*Relay)(nil)

// NewRelay makes a relay from the outbox to the connection's stream.
func NewRelay(conn *Conn, reader service.OutboxReader, opts RelayOptions) *Relay {
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
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
	// A publishing context of its own: acknowledgements time out after
	// AckTimeout, and a whole batch fits in the pending window.
	js, err := jetstream.New(conn.NATS(),
		jetstream.WithPublishAsyncTimeout(opts.AckTimeout),
		jetstream.WithPublishAsyncMaxPending(max(2*opts.BatchSize, 256)))
	if err != nil { // only on invalid options
		js = conn.JetStream()
	}
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
	failures := 0
	for {
		n, err := r.pass(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			failures++
			d := r.backoff(failures)
			r.log.Warn("event relay: pass failed, will retry", "err", err, "retry_in", d, "failures", failures)
			if !sleep(ctx, d) {
				return nil
			}
			continue
		}
		if failures > 0 {
			r.log.Info("event relay: publishing again", "after_failures", failures)
			failures = 0
		}
		if n >= r.opts.BatchSize {
			continue // more is waiting
		}
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
		n, err := r.pass(ctx)
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
		if !sleep(ctx, d) {
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

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

var errNotConnected = errors.New("nats is not connected")

type outgoing struct {
	rec service.OutboxRecord
	msg *nats.Msg
}

// pass publishes one batch of the outbox. It returns how many records it
// read, and an error when some could not be published for now (they stay in
// the outbox).
//
// Order: the events of one dossier are published one after the other, each
// only after JetStream acknowledged the one before, so they are stored in the
// outbox's order even if the connection drops in between (messages buffered
// while reconnecting could otherwise overtake one lost in flight). Events of
// different dossiers go in parallel: wave k holds the k-th pending event of
// every dossier in the batch. After a wave with a failure no further wave
// goes, so nothing is published ahead of an event that was not.
func (r *Relay) pass(ctx context.Context) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	defer r.updateBacklog(ctx)

	recs, err := r.reader.PendingEvents(ctx, r.opts.BatchSize)
	if err != nil {
		return 0, fmt.Errorf("read outbox: %w", err)
	}
	if len(recs) == 0 {
		return 0, nil
	}
	if !r.conn.NATS().IsConnected() {
		return len(recs), errNotConnected
	}

	// Put aside what can never be published; queue the rest by dossier.
	bg := context.WithoutCancel(ctx)
	queues := map[string][]outgoing{}
	var order []string
	for _, rec := range recs {
		msg, reason, err := r.message(rec)
		if err != nil {
			if err := r.park(bg, rec, reason, err); err != nil {
				return len(recs), err
			}
			continue
		}
		if _, ok := queues[rec.DossierCode]; !ok {
			order = append(order, rec.DossierCode)
		}
		queues[rec.DossierCode] = append(queues[rec.DossierCode], outgoing{rec, msg})
	}

	start := time.Now()
	var (
		acked   []service.OutboxRecord
		failErr error
		failed  int
	)
	for wave := 0; failErr == nil; wave++ {
		var batch []outgoing
		for _, code := range order {
			if q := queues[code]; wave < len(q) {
				batch = append(batch, q[wave])
			}
		}
		if len(batch) == 0 {
			break
		}
		ok, errs := r.publish(ctx, batch)
		acked = append(acked, ok...)
		for _, fe := range errs {
			failed++
			r.m.publishError()
			if failErr == nil {
				failErr = fmt.Errorf("publish %s (seq %d): %w", fe.rec.ID, fe.rec.Seq, fe.err)
			}
			if err := r.reader.MarkFailed(bg, fe.rec.Seq, fe.err.Error(), false); err != nil {
				r.log.Warn("event relay: cannot count a failed attempt", "seq", fe.rec.Seq, "err", err)
			}
		}
	}
	if len(acked) > 0 {
		r.m.publishTime(time.Since(start).Seconds())
		seqs := make([]int64, len(acked))
		for i, rec := range acked {
			seqs[i] = rec.Seq
		}
		mctx, cancel := context.WithTimeout(bg, markTimeout)
		err := r.reader.MarkPublished(mctx, seqs, time.Now().UTC())
		cancel()
		if err != nil {
			// Published but not marked: the next pass publishes them again and
			// JetStream drops them as duplicates.
			return len(recs), fmt.Errorf("mark %d events published: %w", len(seqs), err)
		}
		for _, rec := range acked {
			r.m.published(string(rec.Type))
		}
	}
	if failErr != nil {
		return len(recs), fmt.Errorf("%d of %d events not published: %w", failed, len(recs), failErr)
	}
	return len(recs), nil
}

type publishError struct {
	rec service.OutboxRecord
	err error
}

// publish sends a wave asynchronously and waits for every acknowledgement.
func (r *Relay) publish(ctx context.Context, batch []outgoing) (acked []service.OutboxRecord, failed []publishError) {
	type sent struct {
		rec service.OutboxRecord
		f   jetstream.PubAckFuture
	}
	futures := make([]sent, 0, len(batch))
	for i, o := range batch {
		f, err := r.js.PublishMsgAsync(o.msg)
		if err != nil {
			// Nothing of the rest of this wave goes either.
			for _, rest := range batch[i:] {
				failed = append(failed, publishError{rest.rec, err})
			}
			break
		}
		futures = append(futures, sent{o.rec, f})
	}
	// The publishing context times acknowledgements out after AckTimeout;
	// this timer is only a safety net.
	timer := time.NewTimer(r.opts.AckTimeout + time.Second)
	defer timer.Stop()
	expired := false
	for _, s := range futures {
		if expired {
			failed = append(failed, publishError{s.rec, jetstream.ErrAsyncPublishTimeout})
			continue
		}
		select {
		case <-s.f.Ok():
			acked = append(acked, s.rec)
		case err := <-s.f.Err():
			failed = append(failed, publishError{s.rec, err})
		case <-timer.C:
			expired = true
			failed = append(failed, publishError{s.rec, jetstream.ErrAsyncPublishTimeout})
		case <-ctx.Done():
			expired = true
			failed = append(failed, publishError{s.rec, ctx.Err()})
		}
	}
	return acked, failed
}

// message builds the NATS message of a record, or says why it can never be
// published.
func (r *Relay) message(rec service.OutboxRecord) (*nats.Msg, string, error) {
	subject := r.conn.SubjectPrefix() + rec.Subject
	if !strings.HasPrefix(rec.Subject, SubjectRoot) || !ValidSubject(subject) {
		return nil, ParkSubject, fmt.Errorf("invalid subject %q", rec.Subject)
	}
	data, err := Encode(rec)
	if err != nil {
		return nil, ParkEncode, fmt.Errorf("cannot encode: %w", err)
	}
	msg := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
	msg.Header.Set(headerMsgID, rec.ID)
	msg.Header.Set(headerContent, ContentType)
	size := len(subject) + len(data) + len(rec.ID) + len(ContentType) + 64
	if limit := r.conn.NATS().MaxPayload(); limit > 0 && int64(size) > limit {
		return nil, ParkTooLarge, fmt.Errorf("message of about %d bytes exceeds the server's maximum payload %d", size, limit)
	}
	return msg, "", nil
}

func (r *Relay) park(ctx context.Context, rec service.OutboxRecord, reason string, cause error) error {
	ctx, cancel := context.WithTimeout(ctx, markTimeout)
	defer cancel()
	if err := r.reader.MarkFailed(ctx, rec.Seq, reason+": "+cause.Error(), true); err != nil {
		return fmt.Errorf("park event seq %d: %w", rec.Seq, err)
	}
	r.m.parked(reason)
	r.log.Error("event relay: event parked, it will not be published",
		"seq", rec.Seq, "id", rec.ID, "type", rec.Type, "dossier", rec.DossierCode, "reason", reason, "err", cause)
	return nil
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

// ValidSubject reports whether NATS accepts s as the subject of a published
// message: non-empty dot-separated tokens, no empty token, no wildcard (* or
// >), no white space or control character, valid UTF-8.
func ValidSubject(s string) bool {
	if s == "" || !utf8.ValidString(s) {
		return false
	}
	for _, tok := range strings.Split(s, ".") {
		if tok == "" {
			return false
		}
	}
	for _, c := range s {
		if c == '*' || c == '>' || unicode.IsSpace(c) || unicode.IsControl(c) {
			return false
		}
	}
	return true
}
