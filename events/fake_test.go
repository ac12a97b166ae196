package events_test

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/motcua/motcua/service"
)

// fakeOutbox is an in-memory service.OutboxReader.
type fakeOutbox struct {
	mu         sync.Mutex
	recs       []service.OutboxRecord // in seq order
	next       int                    // recs before it are all published or parked
	published  map[int64]time.Time
	parked     map[int64]string
	attempts   map[int64]int
	failMarks  int // MarkPublished fails this many more times
	reads      int // PendingEvents and PendingEventsAfter calls
	afterReads int // PendingEventsAfter calls
	rowsRead   int // records returned by both
	// onMark, when set, is called before MarkPublished does anything; an
	// error it returns is MarkPublished's.
	onMark func(seqs []int64) error
	// hidden rows are not committed yet: no read returns them.
	hidden map[int64]bool
	also   [][]int64 // the gaps each PendingEventsAfter asked for
}

func newFakeOutbox(recs ...service.OutboxRecord) *fakeOutbox {
	f := &fakeOutbox{published: map[int64]time.Time{}, parked: map[int64]string{}, attempts: map[int64]int{}}
	f.add(recs...)
	return f
}

func (f *fakeOutbox) add(recs ...service.OutboxRecord) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.recs = append(f.recs, recs...)
}

func (f *fakeOutbox) done(seq int64) bool {
	_, pub := f.published[seq]
	_, park := f.parked[seq]
	return pub || park || f.hidden[seq]
}

// hide makes seqs invisible to reads, as rows of transactions not yet
// committed; show commits them.
func (f *fakeOutbox) hide(seqs ...int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hidden == nil {
		f.hidden = map[int64]bool{}
	}
	for _, s := range seqs {
		f.hidden[s] = true
	}
}

func (f *fakeOutbox) show(seqs ...int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range seqs {
		delete(f.hidden, s)
	}
}

func (f *fakeOutbox) PendingEvents(_ context.Context, limit int) ([]service.OutboxRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	for f.next < len(f.recs) && f.done(f.recs[f.next].Seq) {
		f.next++
	}
	var out []service.OutboxRecord
	for _, r := range f.recs[f.next:] {
		if len(out) == limit {
			break
		}
		if f.done(r.Seq) {
			continue
		}
		r.Attempts = f.attempts[r.Seq]
		out = append(out, r)
	}
	f.rowsRead += len(out)
	return out, nil
}

func (f *fakeOutbox) MarkPublished(_ context.Context, seqs []int64, at time.Time) error {
	f.mu.Lock()
	hook := f.onMark
	f.mu.Unlock()
	if hook != nil {
		if err := hook(seqs); err != nil {
			return err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failMarks > 0 {
		f.failMarks--
		return errors.New("database went away")
	}
	for _, s := range seqs {
		f.published[s] = at
	}
	return nil
}

func (f *fakeOutbox) MarkFailed(_ context.Context, seq int64, reason string, park bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attempts[seq]++
	if park {
		f.parked[seq] = reason
	}
	return nil
}

func (f *fakeOutbox) OutboxBacklog(context.Context) (int64, *time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var n int64
	var oldest *time.Time
	for _, r := range f.recs[f.next:] {
		if !f.done(r.Seq) {
			n++
			if oldest == nil {
				t := r.OccurredAt
				oldest = &t
			}
		}
	}
	return n, oldest, nil
}

func (f *fakeOutbox) counts() (published, parked, reads int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.published), len(f.parked), f.reads
}

// forget makes every event unpublished again, as if the relay had died
// between publishing and marking.
func (f *fakeOutbox) forget() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.published = map[int64]time.Time{}
	f.next = 0
}

// PendingEventsAfter makes the fake an events.CursorReader.
func (f *fakeOutbox) PendingEventsAfter(_ context.Context, after int64, also []int64, limit int) ([]service.OutboxRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	f.afterReads++
	f.also = append(f.also, also)
	var out []service.OutboxRecord
	for _, r := range f.recs {
		if r.Seq <= after && slices.Contains(also, r.Seq) && !f.done(r.Seq) && len(out) < limit {
			r.Attempts = f.attempts[r.Seq]
			out = append(out, r)
		}
	}
	i, _ := slices.BinarySearchFunc(f.recs, after+1, func(r service.OutboxRecord, seq int64) int { return cmp.Compare(r.Seq, seq) })
	for _, r := range f.recs[i:] {
		if len(out) == limit {
			break
		}
		if f.done(r.Seq) {
			continue
		}
		r.Attempts = f.attempts[r.Seq]
		out = append(out, r)
	}
	f.rowsRead += len(out)
	return out, nil
}

// plainOutbox hides PendingEventsAfter: a reader without a cursor.
type plainOutbox struct{ service.OutboxReader }
