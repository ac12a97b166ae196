package service

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Right PINs' give-backs are applied in batches, one statement every few
// milliseconds, so a look-up is one statement (docs/benchmarks.md, "Hot
// paths"; docs/security.md, "Attempt limits"). Until its batch is applied
// an attempt stays counted: the safe direction.
const (
	giveBackDelay   = 5 * time.Millisecond // longest wait of a give-back before its batch goes
	giveBackBatch   = 256                  // most give-backs in one statement
	giveBackPending = 8192                 // most give-backs waiting; more are dropped
	giveBackTimeout = 5 * time.Second      // one batch's statement
	giveBackFlying  = 4                    // most batches applied at once (docs/benchmarks.md)
)

// giveBacks collects an instance's give-backs. Its worker runs only while
// some are pending, so a service needs no start; Close flushes.
type giveBacks struct {
	store interface {
		GiveBackPINAttempts(ctx context.Context, gs []PINGiveBack) error
	}
	log *slog.Logger

	delay        time.Duration
	batch, limit int

	mu      sync.Mutex
	pending []PINGiveBack
	running bool
	flying  int            // batches being applied
	pairs   map[string]int // give-backs queued or being applied, by pair key
	applied *sync.Cond     // a batch was applied (on mu)
	closed  bool
	dropped int           // dropped since the last batch, for the log
	full    chan struct{} // a batch is full: go at once
	stop    chan struct{} // closed by close: drain without waiting
	slots   chan struct{} // one per batch being applied
	wg      sync.WaitGroup
}

func newGiveBacks(st interface {
	GiveBackPINAttempts(ctx context.Context, gs []PINGiveBack) error
}, log *slog.Logger) *giveBacks {
	b := &giveBacks{store: st, log: log, delay: giveBackDelay, batch: giveBackBatch, limit: giveBackPending,
		full: make(chan struct{}, 1), stop: make(chan struct{}), slots: make(chan struct{}, giveBackFlying),
		pairs: map[string]int{}}
	b.applied = sync.NewCond(&b.mu)
	return b
}

func (b *giveBacks) apply(ctx context.Context, gs []PINGiveBack) error {
	return b.store.GiveBackPINAttempts(ctx, gs)
}

// await returns once no give-back of the pair is queued or being applied:
// a right PIN repeated from one address on one dossier within a batch's
// delay is then counted as it would have been without the batches (the
// sixth would be refused otherwise). Only a holder of the PIN waits here.
func (b *giveBacks) await(pair string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.pairs[pair] > 0 {
		select {
		case b.full <- struct{}{}:
		default:
		}
		b.applied.Wait()
	}
}

// add queues a give-back without waiting for it. A full queue drops it (the
// attempt stays counted, which only an outsider driving more right-PIN
// look-ups than the database applies can cause; applying at once would add
// a statement per look-up just when the database is behind). After close
// it is applied at once.
func (b *giveBacks) add(ctx context.Context, g PINGiveBack) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return b.apply(ctx, []PINGiveBack{g})
	}
	if len(b.pending) >= b.limit {
		b.dropped++
		b.mu.Unlock()
		return nil
	}
	b.pending = append(b.pending, g)
	b.pairs[g.Pair.Key]++
	switch {
	case !b.running:
		b.running = true
		b.wg.Add(1)
		go b.run()
	case len(b.pending) >= b.batch:
		select {
		case b.full <- struct{}{}:
		default:
		}
	}
	b.mu.Unlock()
	return nil
}

// run starts batches until none is pending.
func (b *giveBacks) run() {
	defer b.wg.Done()
	t := time.NewTimer(b.delay)
	defer t.Stop()
	for {
		b.mu.Lock()
		wait, delay := len(b.pending) < b.batch && !b.closed, b.delay
		b.mu.Unlock()
		if wait {
			t.Reset(delay)
			select {
			case <-t.C:
			case <-b.full:
			case <-b.stop:
			}
		}
		b.mu.Lock()
		n := min(len(b.pending), b.batch)
		if n == 0 {
			b.running = false
			b.mu.Unlock()
			return
		}
		batch := make([]PINGiveBack, n)
		copy(batch, b.pending)
		b.pending = append(b.pending[:0], b.pending[n:]...)
		dropped := b.dropped
		b.dropped = 0
		b.flying++
		b.mu.Unlock()
		// Batches lock their rows in one order, so several at once do not
		// deadlock; one at a time fell behind the look-ups under load.
		b.slots <- struct{}{}
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			b.flush(batch, dropped)
			<-b.slots
			b.mu.Lock()
			b.flying--
			for _, g := range batch {
				if b.pairs[g.Pair.Key]--; b.pairs[g.Pair.Key] <= 0 {
					delete(b.pairs, g.Pair.Key)
				}
			}
			b.applied.Broadcast()
			b.mu.Unlock()
		}()
	}
}

func (b *giveBacks) flush(batch []PINGiveBack, dropped int) {
	if dropped > 0 {
		b.log.Warn("PIN give-backs dropped, the queue was full: those right PINs' attempts stay counted", "dropped", dropped)
	}
	ctx, cancel := context.WithTimeout(context.Background(), giveBackTimeout)
	defer cancel()
	if err := b.apply(ctx, batch); err != nil {
		b.log.Error("PIN give-backs not applied: those right PINs' attempts stay counted", "count", len(batch), "err", err)
	}
}

// close applies what is pending and waits for it, until ctx ends; later
// give-backs are applied at once.
func (b *giveBacks) close(ctx context.Context) error {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.stop)
	}
	b.mu.Unlock()
	done := make(chan struct{})
	go func() {
		b.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close applies the right PINs' give-backs still pending; call it when the
// instance stops (after its requests ended). Give-backs after Close are
// applied at once.
func (s *Service) Close(ctx context.Context) error {
	return s.giveBacks.close(ctx)
}
