package events

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ack is what became of a published item.
type ack struct {
	it        *item
	duplicate bool
	err       error
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
		a.it.acked = time.Now()
		r.m.publishTime(a.it.acked.Sub(a.it.sent).Seconds())
		if a.duplicate {
			r.m.duplicate()
		}
		if len(p.toMark) == 0 {
			p.markBy = a.it.acked.Add(r.opts.markLinger)
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
// database slows. Unless now, it waits for a batch, or for markBy when the
// pump lingers.
func (p *pipeline) startMark(now bool) {
	if p.marking != nil || len(p.toMark) == 0 || p.markErr != nil {
		return
	}
	if !now && len(p.toMark) < p.r.opts.BatchSize && (!p.lingers || time.Now().Before(p.markBy)) {
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
	for _, it := range res.items {
		delete(p.known, it.rec.Seq)
		// The delay ends at the acknowledgement, not at the mark: a
		// lingering mark does not make the event late.
		r.m.published(string(it.rec.Type), it.rec.OccurredAt, it.acked)
	}
}
