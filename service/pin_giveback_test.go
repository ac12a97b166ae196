package service_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/motcua/motcua/service"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// failures reads one attempt counter; -1 when it has no row.
func (e *pinEnv) failures(scope, key string) int {
	e.t.Helper()
	n := -1
	rows, err := e.st.DB().Raw("SELECT failures FROM pin_guard WHERE scope = ? AND key = ?", scope, key).Rows()
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(&n); err != nil {
			e.t.Fatal(err)
		}
	}
	return n
}

type counter struct {
	scope, key string
	want       int
}

func (e *pinEnv) expect(when string, cs []counter) {
	e.t.Helper()
	for _, c := range cs {
		if got := e.failures(c.scope, c.key); got != c.want {
			e.t.Errorf("%s: %s %s counts %d, want %d", when, c.scope, c.key, got, c.want)
		}
	}
}

// held is a batcher that applies nothing until SettleGiveBacks or Close.
func held(e *pinEnv, batch, limit int) *pinEnv {
	e.svc.SetGiveBacks(time.Hour, batch, limit)
	return e
}

// TestPINGiveBackBatched: right PINs' give-backs wait in the queue with
// their attempts counted, then are applied in batches (of two here): each
// counter is back where it was before the right PINs.
func TestPINGiveBackBatched(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := held(newPINEnv(t, st, service.Options{}, nil), 100, 100)
		d1, d2 := e.intake(""), e.intake("")
		c1, c2 := d1.Dossier.Code, d2.Dossier.Code
		const x, y = "203.0.113.1", "203.0.113.2"
		for range 2 {
			if e.lookup(c1, wrongPIN(d1.PIN), x) {
				t.Fatal("wrong PIN shown")
			}
		}
		if !e.lookup(c1, d1.PIN, x) || !e.lookup(c2, d2.PIN, x) || !e.lookup(c1, d1.PIN, y) {
			t.Fatal("a right PIN was refused")
		}
		e.expect("queued", []counter{{"client", x, 4}, {"pair", c1 + "|" + x, 3}, {"dossier", c1, 4},
			{"client", y, 1}, {"pair", c2 + "|" + x, 1}, {"dossier", c2, 1}})
		e.svc.SetGiveBacks(time.Hour, 2, 100)
		e.svc.SettleGiveBacks()
		e.expect("applied", []counter{{"client", x, 2}, {"pair", c1 + "|" + x, 0}, {"dossier", c1, 0},
			{"client", y, 0}, {"pair", c1 + "|" + y, 0}, {"pair", c2 + "|" + x, 0}, {"dossier", c2, 0}})
	})
}

// TestPINGiveBackOneKey: several give-backs on one key in one batch; an
// attempt counted after a give-back was queued stays counted; a give-back
// does not reach into a window that started after its attempt.
func TestPINGiveBackOneKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := held(newPINEnv(t, st, service.Options{}, nil), 100, 100)
		d := e.intake("")
		code := d.Dossier.Code
		const x, z = "198.51.100.1", "198.51.100.2"
		for i := range 4 {
			if !e.lookup(code, d.PIN, fmt.Sprintf("198.51.100.%d", 10+i)) {
				t.Fatalf("right PIN %d refused", i+1)
			}
		}
		e.expect("four queued on one dossier", []counter{{"dossier", code, 4}})
		e.svc.SettleGiveBacks()
		e.expect("four on one key", []counter{{"client", "198.51.100.10", 0}, {"dossier", code, 0}})
		// One address repeating its right PIN waits for its give-backs
		// instead of reaching the pair's limit of 5.
		for i := range 7 {
			if !e.lookup(code, d.PIN, x) {
				t.Fatalf("right PIN %d from one address refused", i+1)
			}
		}
		e.svc.SettleGiveBacks()

		e.lookup(code, d.PIN, x)           // given back later: the dossier's count 1
		e.lookup(code, wrongPIN(d.PIN), z) // counted after: the dossier's count 2
		e.svc.SettleGiveBacks()
		e.expect("a later wrong PIN", []counter{{"dossier", code, 1}, {"pair", code + "|" + x, 0}, {"pair", code + "|" + z, 1}})

		d2 := e.intake("")
		e.lookup(code, d.PIN, x)
		e.clock.Add(2 * time.Hour) // the address's window ends
		e.lookup(d2.Dossier.Code, wrongPIN(d2.PIN), x)
		e.svc.SettleGiveBacks()
		e.expect("a new window", []counter{{"client", x, 1}, {"pair", d2.Dossier.Code + "|" + x, 1}, {"pair", code + "|" + x, 0}})
	})
}

// TestPINGiveBackClose: Close applies the pending give-backs; after it a
// give-back is applied at once.
func TestPINGiveBackClose(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := held(newPINEnv(t, st, service.Options{}, nil), 100, 100)
		d := e.intake("")
		code := d.Dossier.Code
		for _, a := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"} {
			e.lookup(code, d.PIN, a)
		}
		e.expect("queued", []counter{{"client", "192.0.2.1", 1}, {"dossier", code, 3}})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.svc.Close(ctx); err != nil {
			t.Fatal(err)
		}
		e.expect("closed", []counter{{"client", "192.0.2.1", 0}, {"client", "192.0.2.3", 0}, {"dossier", code, 0}})
		if !e.lookup(code, d.PIN, "192.0.2.4") {
			t.Fatal("a right PIN refused after Close")
		}
		e.expect("after Close", []counter{{"client", "192.0.2.4", 0}, {"dossier", code, 0}})
	})
}

// TestPINGiveBackQueueFull: with the queue full a give-back is dropped and
// its attempt stays counted; the look-up is still answered.
func TestPINGiveBackQueueFull(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := held(newPINEnv(t, st, service.Options{}, nil), 100, 2)
		d := e.intake("")
		code := d.Dossier.Code
		addrs := []string{"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"}
		for _, a := range addrs {
			if !e.lookup(code, d.PIN, a) {
				t.Fatalf("right PIN from %s refused with the queue full", a)
			}
		}
		if err := e.svc.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		e.expect("closed", []counter{{"client", addrs[0], 0}, {"client", addrs[1], 0}, {"client", addrs[2], 1},
			{"client", addrs[3], 1}, {"pair", code + "|" + addrs[2], 1}, {"dossier", code, 2}})
	})
}

// blockedStore holds every batch of give-backs until release is closed.
type blockedStore struct {
	service.Store
	entered chan struct{}
	release chan struct{}
}

func (b *blockedStore) GiveBackPINAttempts(ctx context.Context, gs []service.PINGiveBack) error {
	select {
	case b.entered <- struct{}{}:
	default:
	}
	<-b.release
	return b.Store.GiveBackPINAttempts(ctx, gs)
}

// TestPINGiveBackNoWait: a look-up is answered while its give-back's
// batch is still being applied.
func TestPINGiveBackNoWait(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		bs := &blockedStore{entered: make(chan struct{}, 1), release: make(chan struct{})}
		e := newPINEnv(t, st, service.Options{}, func(s service.Store) service.Store { bs.Store = s; return bs })
		d := e.intake("")
		answered := func(client string) {
			done := make(chan bool, 1)
			go func() { done <- e.lookup(d.Dossier.Code, d.PIN, client) }()
			select {
			case ok := <-done:
				if !ok {
					t.Error("refused")
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the look-up waited for the give-backs' batch")
			}
		}
		answered("192.0.2.1")
		<-bs.entered // the batch is being applied, and stays so
		answered("192.0.2.2")
		close(bs.release)
		if err := e.svc.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		e.expect("closed", []counter{{"client", "192.0.2.1", 0}, {"client", "192.0.2.2", 0}, {"dossier", d.Dossier.Code, 0}})
	})
}

// TestPINTwoInstances: two services on one database count together at
// once; each applies its own give-backs.
func TestPINTwoInstances(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		secret := []byte("a-secret-of-32-bytes-or-more-for-tests")
		e := held(newPINEnv(t, st, service.Options{Secret: secret}, nil), 100, 100)
		other := service.New(st, e.clock, nil, service.Options{Secret: secret, Logger: storetest.Quiet()})
		other.SetGiveBacks(time.Hour, 100, 100)
		d := e.intake("")
		code := d.Dossier.Code
		const x, y = "203.0.113.50", "203.0.113.51"
		for range 5 {
			e.lookup(code, wrongPIN(d.PIN), x)
		}
		if _, err := other.Lookup(context.Background(), code, d.PIN, x); err == nil {
			t.Fatal("the other instance did not see the address's five wrong PINs")
		}
		e.lookup(code, d.PIN, y)
		if _, err := other.Lookup(context.Background(), code, d.PIN, y); err != nil {
			t.Fatal(err)
		}
		e.expect("both queued", []counter{{"client", y, 2}, {"pair", code + "|" + y, 2}})
		e.svc.SettleGiveBacks()
		other.SettleGiveBacks()
		e.expect("both applied", []counter{{"client", y, 0}, {"pair", code + "|" + y, 0}, {"client", x, 6}})
	})
}
