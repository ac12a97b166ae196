package events

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/motcua/motcua/service"
)

var errNotConnected = errors.New("nats is not connected")

// item is one outbox record on its way to the stream.
type item struct {
	rec   service.OutboxRecord
	msg   *nats.Msg
	sent  time.Time
	acked time.Time
}

// CursorReader is an outbox reader that can also read the pending events
// after a sequence number, and those among a list of seqs (in seq order, as
// PendingEvents). The relay then reads each row once while earlier ones are
// in flight: the first read of a pump starts from the oldest pending event
// (so one that failed is not skipped), the next ones after the highest seq
// read, plus the seqs it saw missing below it (gaps). Those reads run beside
// the publishing, one at a time. With a plain OutboxReader the relay reads
// the rows it holds again with each read (up to MaxInFlight of them),
// between publishes.
type CursorReader interface {
	service.OutboxReader
	PendingEventsAfter(ctx context.Context, afterSeq int64, also []int64, limit int) ([]service.OutboxRecord, error)
}

// Gaps. A transaction takes its outbox seq when it writes the row and
// becomes visible at its commit, so concurrent commands commit out of seq
// order: a read after the cursor can see seq 12 while 11 is still
// uncommitted, and the cursor moves past 11. The relay keeps such missing
// seqs (up to maxGaps) and asks for them with each read, so the late row goes
// as soon as its commit wakes the relay instead of waiting for the next pump.
// A seq that never comes (a rolled-back transaction) stays a gap until the
// pump ends; a pump ends after pumpLifetime at the latest, and the next one
// reads from the oldest pending row, which finds anything the gaps missed.
//
// That first read cannot tell a seq missing below the first row it finds
// from one published long ago, and a pump whose marks linger (markLinger)
// lives on after it: so the relay remembers across pumps the highest seq it
// read (floor) and the gaps found above the previous floor. A new pump takes
// the seqs between floor and the first row above it as gaps, and looks for
// the remembered ones too; a remembered gap is kept for one more pump only,
// so one that never comes is dropped at the end of the second.
const (
	maxGaps      = 1024
	pumpLifetime = time.Second
)

// markLinger is how long an acknowledged event may wait to be marked
// published while the pump runs under Run. The event is already on the
// stream: marking only takes its row out of the outbox, so it need not
// happen at once. At a moderate rate (one commit every few milliseconds)
// marking each event as soon as nothing else is in flight made one
// MarkPublished call an event, and the pump ended with each event, so the
// next commit started a new pump that read from the oldest pending row.
// Lingering, the marks of the events acknowledged meanwhile go in one call
// (or at BatchSize waiting), and the pump stays to take the next wake-ups
// with reads after its cursor. What it costs: a crash in the linger
// republishes up to this much more, which JetStream drops as duplicates (its
// window, DuplicateWindow, is minutes); the backlog gauge counts these rows
// for as long. A pump that stops (its context ends, its lifetime passes, a
// failure) or Flush marks at once, and no pump ends with an acknowledged
// event unmarked (docs/benchmarks.md, "The relay's statements per event").
const markLinger = 20 * time.Millisecond

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
//
// again reports that the pump ended only because it reached pumpLifetime:
// run a new one at once. linger lets acknowledged events wait up to
// markLinger to be marked together (Run; Flush marks at once).
func (r *Relay) pump(ctx context.Context, linger bool) (read int, again bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	defer r.updateBacklog(ctx)

	p := &pipeline{
		r:       r,
		bg:      context.WithoutCancel(ctx),
		known:   map[int64]bool{},
		queues:  map[string][]*item{},
		busy:    map[string]bool{},
		timer:   time.NewTimer(time.Hour),
		lingers: linger,
		lingerT: time.NewTimer(time.Hour),
		born:    time.Now(),
		floor:   r.floor,
		gaps:    r.gaps,
	}
	defer p.timer.Stop()
	defer p.lingerT.Stop()
	err = p.run(ctx)
	// For the next pump: what this one read up to, and the gaps it found
	// above what the pump before it had read (those it was given are not
	// passed on again).
	r.floor = max(r.floor, p.cursor)
	r.gaps = nil
	for _, seq := range p.gaps {
		if seq > p.floor {
			r.gaps = append(r.gaps, seq)
		}
	}
	return p.read, p.expired && err == nil, err
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
	markBy   time.Time          // when toMark is to be marked at the latest
	lingers  bool               // toMark may wait until markBy (else: once nothing is in flight)
	lingerT  *time.Timer        // for markBy, while nothing is in flight
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
	gaps     []int64            // seqs missing below cursor, ascending: looked for with each read
	floor    int64              // the highest seq the pumps before read (Relay.floor at the start)
	lastRead time.Time
	born     time.Time // the pump's start
	expired  bool      // past pumpLifetime: no more reads, end when what is read has gone
}

type sentItem struct {
	it *item
	f  jetstream.PubAckFuture
}

func (p *pipeline) run(ctx context.Context) error {
	r := p.r
	for {
		stopping := p.failErr != nil || ctx.Err() != nil
		if !p.expired && time.Since(p.born) > r.opts.pumpLifetime {
			p.expired = true
		}
		// Read more when a batch fits in the window.
		if !stopping && !p.drained && !p.expired && p.reading == nil && p.inflight+p.queued+r.opts.BatchSize <= r.opts.MaxInFlight {
			if err := p.fill(ctx); err != nil {
				p.fail(err)
				continue
			}
		}
		if !stopping {
			p.dispatch()
		}
		// Marks wait for markBy (or a batch) while the pump lingers; they go
		// at once when it stops, and once nothing is in flight when it
		// expires or does not linger.
		p.startMark(stopping || (p.inflight == 0 && (p.expired || !p.lingers)))
		if p.inflight == 0 && p.marking == nil && p.reading == nil {
			if p.failErr != nil {
				if p.failed > 0 {
					return fmt.Errorf("%d events not published: %w", p.failed, p.failErr)
				}
				return p.failErr
			}
			if ctx.Err() != nil {
				return nil
			}
			if (!p.drained && !p.expired) || p.queued > 0 {
				continue
			}
			if len(p.toMark) == 0 {
				return nil
			}
			// Drained, acknowledged events lingering: wait for their time
			// or for a wake-up, never end before they are marked.
		}
		p.wait(ctx)
	}
}

// wait waits for the oldest acknowledgement (JetStream answers about in the
// order it was asked) and takes all that came after it, or for the mark or
// the read in progress to finish.
func (p *pipeline) wait(ctx context.Context) {
	if p.inflight == 0 {
		// A commit while the last marks are written wakes this pump itself:
		// it reads again beside the mark instead of after it, and a new
		// event waits for one read, not for the mark and a new pump.
		var woken, stop <-chan struct{}
		if p.drained && !p.expired && p.reading == nil && p.failErr == nil && ctx.Err() == nil {
			woken = p.r.wake
		}
		if ctx.Err() == nil {
			stop = ctx.Done() // then run marks at once
		}
		// Marks lingering: until markBy, or the pump's lifetime if sooner
		// (then run marks at once).
		var lingered <-chan time.Time
		if p.marking == nil && len(p.toMark) > 0 && p.markErr == nil {
			until := p.markBy
			if end := p.born.Add(p.r.opts.pumpLifetime); !p.expired && end.Before(until) {
				until = end
			}
			p.lingerT.Reset(time.Until(until))
			lingered = p.lingerT.C
		}
		select { // a nil channel is never ready; run makes sure one is not nil
		case res := <-p.marking:
			p.marked(res)
		case res := <-p.reading:
			p.took(ctx, res)
		case <-woken:
			p.drained = false
		case <-lingered:
		case <-stop:
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
		after, also, limit := p.cursor, slices.Clone(p.gaps), r.opts.BatchSize
		if after == 0 {
			also = nil // the read from the oldest pending row finds them anyway
		}
		done := make(chan readResult, 1)
		p.reading = done
		go func() {
			recs, err := cr.PendingEventsAfter(ctx, after, also, limit+len(also))
			done <- readResult{recs: recs, limit: limit + len(also), after: after, cursor: true, err: err}
		}()
		return nil
	}
	limit := len(p.known) + r.opts.BatchSize
	recs, err := r.reader.PendingEvents(ctx, limit)
	return p.take(ctx, readResult{recs: recs, limit: limit, err: err})
}

// readResult is what a read of the outbox gave.
type readResult struct {
	recs   []service.OutboxRecord
	limit  int
	after  int64 // the cursor the read started from
	cursor bool  // a CursorReader's read: it keeps the gaps
	err    error
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
	if res.cursor {
		p.lookFor(res.after, recs)
	}
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
		r.updateBacklog(ctx)
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

// lookFor updates the gaps after a cursor read that started after seq
// after: the seqs it found are no longer missing, and the holes between the
// rows it found beyond after are (below the first row only when the read
// had a cursor: the oldest pending row has nothing pending before it; but a
// read from the oldest row that finds a row above floor, the highest seq the
// pumps before read, knows nothing was read between floor and that row).
func (p *pipeline) lookFor(after int64, recs []service.OutboxRecord) {
	if len(p.gaps) > 0 {
		kept := p.gaps[:0]
		for _, seq := range p.gaps {
			if _, found := slices.BinarySearchFunc(recs, seq, func(r service.OutboxRecord, s int64) int { return cmp.Compare(r.Seq, s) }); !found {
				kept = append(kept, seq)
			}
		}
		p.gaps = kept
	}
	n := len(p.gaps)
	last := after
	for _, rec := range recs {
		if rec.Seq <= after {
			continue // a gap found
		}
		if last == 0 && p.floor > 0 && rec.Seq > p.floor {
			last = p.floor
		}
		if last > 0 {
			for seq := last + 1; seq < rec.Seq && len(p.gaps) < maxGaps; seq++ {
				p.gaps = append(p.gaps, seq)
			}
		}
		last = rec.Seq
	}
	if n > 0 && len(p.gaps) > n && p.gaps[n] <= p.gaps[n-1] {
		// Gaps kept from the pump before, below holes of a read from the
		// oldest row.
		slices.Sort(p.gaps)
		p.gaps = slices.Compact(p.gaps)
	}
}
