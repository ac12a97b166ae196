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

	"github.com/motcua/motcua/domain"
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

	mu          sync.Mutex // one pump at a time
	lastBacklog time.Time
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
	failures := 0
	for {
		_, err := r.pump(ctx)
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
		n, err := r.pump(ctx)
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

// item is one outbox record on its way to the stream.
type item struct {
	rec  service.OutboxRecord
	msg  *nats.Msg
	sent time.Time
}

// ack is what became of a published item.
type ack struct {
	it        *item
	duplicate bool
	err       error
}

// CursorReader is an outbox reader that can also read the pending events
// after a sequence number (in seq order, as PendingEvents). The relay then
// reads each row once while earlier ones are in flight: the first read of a
// pump starts from the oldest pending event (so one committed late with a
// lower seq, or one that failed, is not skipped), the next ones after the
// highest seq read. Those reads run beside the publishing, one at a time.
// With a plain OutboxReader the relay reads the rows it holds again with
// each read (up to MaxInFlight of them), between publishes.
type CursorReader interface {
	service.OutboxReader
	PendingEventsAfter(ctx context.Context, afterSeq int64, limit int) ([]service.OutboxRecord, error)
}

// pump publishes the outbox until it has read everything pending, a publish
// or a database call fails, or ctx ends; then it waits for the events in
// flight and returns how many records it read, and an error when some could
// not be published for now (they stay in the outbox).
//
// Order: the events of one dossier are published one after the other, each
// only after JetStream acknowledged the one before, so they are stored in the
// outbox's order even if the connection drops in between (messages buffered
// while reconnecting could otherwise overtake one lost in flight), and after
// a failure none of that dossier's later events goes. Events of different
// dossiers are pipelined: up to MaxInFlight unacknowledged at once, the next
// records read and encoded while earlier ones wait for their
// acknowledgement, acknowledged ones marked published in batches.
func (r *Relay) pump(ctx context.Context) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	defer r.updateBacklog(ctx, false)

	p := &pipeline{
		r:      r,
		bg:     context.WithoutCancel(ctx),
		known:  map[int64]bool{},
		queues: map[string][]*item{},
		busy:   map[string]bool{},
		timer:  time.NewTimer(time.Hour),
	}
	defer p.timer.Stop()
	err := p.run(ctx)
	return p.read, err
}

// pipeline is the state of one pump.
type pipeline struct {
	r  *Relay
	bg context.Context // for marking what was published, even as ctx ends

	known    map[int64]bool     // read, not yet marked published, parked or given up
	queues   map[string][]*item // per dossier, read and not yet published
	busy     map[string]bool    // dossiers with an event in flight
	ready    []string           // dossiers whose next event may go, in the order they became ready
	queued   int                // items in queues
	inflight int                // published, not yet acknowledged
	toMark   []*item            // acknowledged, not yet marked
	marking  chan markResult    // the mark in progress, or nil
	reading  chan readResult    // the read in progress (CursorReader), or nil
	markErr  error              // a mark failed: no more marks this pump
	sent     []sentItem         // in flight, in the order published
	timer    *time.Timer        // for the oldest in flight
	read     int                // records read
	failed   int                // publishes that failed
	failErr  error              // the first failure: no more reading or publishing
	drained  bool               // the last read found nothing beyond what is known
	cursor   int64              // the highest seq read
	lastRead time.Time
}

type sentItem struct {
	it *item
	f  jetstream.PubAckFuture
}

func (p *pipeline) run(ctx context.Context) error {
	r := p.r
	for {
		stopping := p.failErr != nil || ctx.Err() != nil
		// Read more when a batch fits in the window.
		if !stopping && !p.drained && p.reading == nil && p.inflight+p.queued+r.opts.BatchSize <= r.opts.MaxInFlight {
			if err := p.fill(ctx); err != nil {
				p.fail(err)
				continue
			}
		}
		if !stopping {
			p.dispatch()
		}
		p.startMark(p.inflight == 0 || stopping)
		if p.inflight == 0 && p.marking == nil && p.reading == nil {
			if p.failErr != nil {
				if p.failed > 0 {
					return fmt.Errorf("%d events not published: %w", p.failed, p.failErr)
				}
				return p.failErr
			}
			if ctx.Err() != nil || (p.drained && p.queued == 0) {
				return nil
			}
			continue
		}
		p.wait(ctx)
	}
}

// wait waits for the oldest acknowledgement (JetStream answers about in the
// order it was asked) and takes all that came after it, or for the mark or
// the read in progress to finish.
func (p *pipeline) wait(ctx context.Context) {
	if p.inflight == 0 {
		select { // a nil channel is never ready; run makes sure one is not nil
		case res := <-p.marking:
			p.marked(res)
		case res := <-p.reading:
			p.took(ctx, res)
		}
		return
	}
	a, ok := p.next(ctx, true)
	if !ok {
		return // the mark or the read finished first
	}
	p.handle(a)
	for p.inflight > 0 {
		a, ok := p.next(ctx, false)
		if !ok {
			break
		}
		p.handle(a)
	}
}

func (p *pipeline) fail(err error) {
	if p.failErr == nil {
		p.failErr = err
	}
}

// fill reads the outbox and queues what is new. A CursorReader is asked,
// in the background, for what comes after the highest seq read (the result
// comes to wait, through reading). A plain outbox returns the oldest pending
// records first, those already known (queued, in flight or not yet marked)
// included, so it is asked for as many more as there are known ones, at once.
func (p *pipeline) fill(ctx context.Context) error {
	r := p.r
	if cr, ok := r.reader.(CursorReader); ok {
		after, limit := p.cursor, r.opts.BatchSize
		done := make(chan readResult, 1)
		p.reading = done
		go func() {
			recs, err := cr.PendingEventsAfter(ctx, after, limit)
			done <- readResult{recs: recs, limit: limit, err: err}
		}()
		return nil
	}
	limit := len(p.known) + r.opts.BatchSize
	recs, err := r.reader.PendingEvents(ctx, limit)
	return p.take(ctx, readResult{recs: recs, limit: limit, err: err})
}

// readResult is what a read of the outbox gave.
type readResult struct {
	recs  []service.OutboxRecord
	limit int
	err   error
}

// took takes the result of a background read.
func (p *pipeline) took(ctx context.Context, res readResult) {
	p.reading = nil
	if err := p.take(ctx, res); err != nil {
		p.fail(err)
	}
}

// take queues what a read found that is new.
func (p *pipeline) take(ctx context.Context, res readResult) error {
	r := p.r
	recs, limit := res.recs, res.limit
	if res.err != nil {
		return fmt.Errorf("read outbox: %w", res.err)
	}
	p.drained = len(recs) < limit
	fresh := 0
	for _, rec := range recs {
		p.cursor = max(p.cursor, rec.Seq)
		if !p.known[rec.Seq] {
			fresh++
		}
	}
	if fresh > 0 && !r.conn.NATS().IsConnected() {
		// Not even tried: the outbox keeps them for the next pump.
		p.read += fresh
		return errNotConnected
	}
	if time.Since(p.lastRead) >= backlogEvery {
		r.updateBacklog(ctx, false)
	}
	p.lastRead = time.Now()
	for _, rec := range recs {
		if p.known[rec.Seq] {
			continue
		}
		p.read++
		msg, reason, err := r.message(rec)
		if err != nil {
			if err := r.park(p.bg, rec, reason, err); err != nil {
				return err
			}
			continue
		}
		p.known[rec.Seq] = true
		q := p.queues[rec.DossierCode]
		if len(q) == 0 && !p.busy[rec.DossierCode] {
			p.ready = append(p.ready, rec.DossierCode)
		}
		p.queues[rec.DossierCode] = append(q, &item{rec: rec, msg: msg})
		p.queued++
	}
	return nil
}

// dispatch publishes the next event of every ready dossier, up to the window.
func (p *pipeline) dispatch() {
	r := p.r
	for len(p.ready) > 0 && p.inflight < r.opts.MaxInFlight && p.failErr == nil {
		code := p.ready[0]
		p.ready = p.ready[1:]
		q := p.queues[code]
		if len(q) == 0 || p.busy[code] {
			continue
		}
		it := q[0]
		if len(q) == 1 {
			delete(p.queues, code)
		} else {
			p.queues[code] = q[1:]
		}
		p.queued--
		it.sent = time.Now()
		f, err := r.js.PublishMsgAsync(it.msg)
		if err != nil {
			p.publishFailed(it, err)
			continue
		}
		p.busy[code] = true
		p.inflight++
		p.sent = append(p.sent, sentItem{it, f})
	}
	if len(p.ready) == 0 {
		p.ready = nil // let the array go
	}
}

// handle takes one acknowledgement (or failure).
func (p *pipeline) handle(a ack) {
	r := p.r
	p.inflight--
	code := a.it.rec.DossierCode
	delete(p.busy, code)
	if a.err != nil {
		if reason, permanent := refused(a.err); permanent {
			delete(p.known, a.it.rec.Seq)
			if err := r.park(p.bg, a.it.rec, reason, a.err); err != nil {
				p.fail(err)
			}
		} else {
			p.publishFailed(a.it, a.err)
			return
		}
	} else {
		r.m.publishTime(time.Since(a.it.sent).Seconds())
		if a.duplicate {
			r.m.duplicate()
		}
		p.toMark = append(p.toMark, a.it)
	}
	if len(p.queues[code]) > 0 {
		p.ready = append(p.ready, code)
	}
}

// publishFailed gives up on an event for this pump, and on the rest of its
// dossier's events behind it, and stops the pump.
func (p *pipeline) publishFailed(it *item, err error) {
	r := p.r
	code := it.rec.DossierCode
	delete(p.known, it.rec.Seq)
	for _, rest := range p.queues[code] {
		delete(p.known, rest.rec.Seq)
		p.queued--
	}
	delete(p.queues, code)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		// Stopped, not failed: it is published again next time.
		return
	}
	p.failed++
	r.m.publishError()
	p.fail(fmt.Errorf("publish %s (seq %d): %w", it.rec.ID, it.rec.Seq, err))
	if err := r.reader.MarkFailed(p.bg, it.rec.Seq, err.Error(), false); err != nil {
		r.log.Warn("event relay: cannot count a failed attempt", "seq", it.rec.Seq, "err", err)
	}
}

// markResult is what became of a MarkPublished call.
type markResult struct {
	items []*item
	err   error
}

// startMark marks what JetStream acknowledged as published, in the
// background while the pump goes on, one call at a time: what is
// acknowledged meanwhile goes with the next call, so calls grow as the
// database slows. It waits for a batch unless now.
func (p *pipeline) startMark(now bool) {
	if p.marking != nil || len(p.toMark) == 0 || p.markErr != nil || (!now && len(p.toMark) < p.r.opts.BatchSize) {
		return
	}
	items := p.toMark
	p.toMark = nil
	done := make(chan markResult, 1)
	p.marking = done
	r := p.r
	go func() {
		seqs := make([]int64, len(items))
		for i, it := range items {
			seqs[i] = it.rec.Seq
		}
		ctx, cancel := context.WithTimeout(p.bg, markTimeout)
		err := r.reader.MarkPublished(ctx, seqs, time.Now().UTC())
		cancel()
		done <- markResult{items, err}
	}()
}

// marked takes the result of a mark.
func (p *pipeline) marked(res markResult) {
	p.marking = nil
	r := p.r
	if res.err != nil {
		// Published but not marked: the next pump publishes them again and
		// JetStream drops them as duplicates.
		p.markErr = fmt.Errorf("mark %d events published: %w", len(res.items), res.err)
		p.fail(p.markErr)
		p.toMark = nil
		return
	}
	now := time.Now()
	for _, it := range res.items {
		delete(p.known, it.rec.Seq)
		r.m.published(string(it.rec.Type), it.rec.OccurredAt, now)
	}
}

// next takes the oldest acknowledgement (or failure) in flight, waiting
// for it when wait is true; without waiting it reports false when it has not
// come yet. The publishing context times acknowledgements out after
// AckTimeout; next's own timer is only a safety net. Once ctx ends, what has
// not come is given up on (and published again next time).
func (p *pipeline) next(ctx context.Context, wait bool) (ack, bool) {
	s := p.sent[0]
	a := ack{it: s.it}
	if wait {
		p.timer.Reset(time.Until(s.it.sent.Add(p.r.opts.AckTimeout + time.Second)))
		select {
		case res := <-p.marking: // nil while no mark runs: never ready
			p.marked(res)
			return a, false
		case res := <-p.reading: // likewise
			p.took(ctx, res)
			return a, false
		case pa := <-s.f.Ok():
			a.duplicate = pa.Duplicate
		case err := <-s.f.Err():
			a.err = err
		case <-p.timer.C:
			a.err = jetstream.ErrAsyncPublishTimeout
		case <-ctx.Done():
			select {
			case pa := <-s.f.Ok():
				a.duplicate = pa.Duplicate
			default:
				a.err = ctx.Err()
			}
		}
	} else {
		select {
		case pa := <-s.f.Ok():
			a.duplicate = pa.Duplicate
		case err := <-s.f.Err():
			a.err = err
		default:
			if ctx.Err() == nil {
				return a, false
			}
			a.err = ctx.Err()
		}
	}
	p.sent[0] = sentItem{}
	p.sent = p.sent[1:]
	if len(p.sent) == 0 {
		p.sent = nil // let the array go
	}
	return a, true
}

// refused reports whether JetStream refused a message for good (it is larger
// than the stream takes), and the reason to park it with.
func refused(err error) (string, bool) {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamMessageExceedsMaximum || apiErr.ErrorCode == codeHeaderTooLarge) {
		return ParkTooLarge, true
	}
	return "", false
}

// codeHeaderTooLarge is JetStream's "header size exceeds maximum allowed".
const codeHeaderTooLarge jetstream.ErrorCode = 10097

// message builds the NATS message of a record, or says why it can never be
// published.
func (r *Relay) message(rec service.OutboxRecord) (*nats.Msg, string, error) {
	subject := r.conn.SubjectPrefix() + rec.Subject
	if !strings.HasPrefix(rec.Subject, domain.SubjectRoot) || !ValidSubject(subject) {
		return nil, ParkSubject, fmt.Errorf("invalid subject %q", rec.Subject)
	}
	data, err := Encode(rec)
	if err != nil {
		return nil, ParkEncode, fmt.Errorf("cannot encode: %w", err)
	}
	// Header keys as nats.Header.Set would write them (already canonical).
	msg := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{headerMsgID: {rec.ID}, headerContent: {ContentType}}}
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

// updateBacklog refreshes the backlog gauges, at most once a second unless
// forced (after a pump: the gauges then say whether it left anything).
func (r *Relay) updateBacklog(ctx context.Context, force bool) {
	if r.m == nil || ctx.Err() != nil || (!force && time.Since(r.lastBacklog) < backlogEvery) {
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
	if s == "" || !utf8.ValidString(s) || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false // an empty token
	}
	for _, c := range s {
		if c == '*' || c == '>' || unicode.IsSpace(c) || unicode.IsControl(c) {
			return false
		}
	}
	return true
}
