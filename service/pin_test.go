package service_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

type fixedClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fixedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fixedClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// root, center, admin and clerk are service_test.go's.

// pinEnv is a service on a real store (wrapped by wrap when given), with a
// small catalogue.
type pinEnv struct {
	t     *testing.T
	st    *store.Store
	svc   *service.Service
	clock *fixedClock
}

func newPINEnv(t *testing.T, st *store.Store, opts service.Options, wrap func(service.Store) service.Store) *pinEnv {
	t.Helper()
	clock := &fixedClock{t: time.Date(2026, 3, 16, 2, 0, 0, 0, time.UTC)} // Monday 09:00 in Vietnam
	opts.Logger = storetest.Quiet()
	var s service.Store = st
	if wrap != nil {
		s = wrap(st)
	}
	svc := service.New(s, clock, nil, opts)
	// Right PINs' give-backs still being applied finish before the store closes.
	t.Cleanup(func() { _ = svc.Close(context.Background()) })
	ctx := context.Background()
	for _, a := range []domain.Agency{{Code: root, Name: "UBND Thành phố"}, {Code: center, Name: "Trung tâm", ParentCode: root}} {
		if _, err := svc.PutAgency(ctx, admin, a); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := svc.PutProcedure(ctx, admin, domain.Procedure{Code: "2.000635", Name: "Cấp bản sao", AgencyCode: root,
		Unit: domain.UnitWorkingHours, Amount: 4, Minutes: 240, SupplementClock: domain.ClockPause, Online: domain.OnlineNone}); err != nil {
		t.Fatal(err)
	}
	return &pinEnv{t: t, st: st, svc: svc, clock: clock}
}

func (e *pinEnv) intake(key string) service.IntakeResult {
	e.t.Helper()
	res, err := e.svc.Intake(context.Background(), clerk, service.IntakeCmd{ProcedureCode: "2.000635", Channel: "counter",
		Applicant: domain.Applicant{Name: "Nguyễn Văn An", IDNumber: "001090001234"}, Documents: []string{"Tờ khai"},
		IdempotencyKey: key, RequestHash: "h-" + key})
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

// lookup answers true when the look-up showed the dossier.
func (e *pinEnv) lookup(code, pin, client string) bool {
	e.t.Helper()
	_, err := e.svc.Lookup(context.Background(), code, pin, client)
	if err != nil && domain.KindOf(err) != domain.NotFound {
		e.t.Fatal(err)
	}
	return err == nil
}

func wrongPIN(right string) string {
	if right == "00000000" {
		return "11111111"
	}
	return "00000000"
}

// gatedStore holds every look-up's first step (AttemptLookup, which counts
// the attempt and reads the head) until n callers are inside, before their
// PINs are checked: the widest window there is between reading a dossier's
// PIN state and checking a PIN.
type gatedStore struct {
	service.Store
	n       int32
	waiting atomic.Int32
	open    chan struct{}
	once    sync.Once
}

func (g *gatedStore) AttemptLookup(ctx context.Context, a service.PINAttempt) (service.PINAttemptResult, error) {
	r, err := g.Store.AttemptLookup(ctx, a)
	if g.waiting.Add(1) >= g.n {
		g.once.Do(func() { close(g.open) })
	}
	<-g.open
	return r, err
}

// TestPINGuessRace: 39 wrong guesses from one address are in flight when
// the right PIN comes from the same address; the lock-out must already
// count them, so the right PIN is refused, and the stored count is exact.
func TestPINGuessRace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		gate := &gatedStore{n: 40, open: make(chan struct{})}
		e := newPINEnv(t, st, service.Options{}, func(s service.Store) service.Store { gate.Store = s; return gate })
		d := e.intake("")
		var wg sync.WaitGroup
		var shown atomic.Int32
		for i := 0; i < 39; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if e.lookup(d.Dossier.Code, wrongPIN(d.PIN), "203.0.113.7") {
					shown.Add(1)
				}
			}()
		}
		for gate.waiting.Load() < 39 {
			time.Sleep(time.Millisecond)
		}
		right := e.lookup(d.Dossier.Code, d.PIN, "203.0.113.7")
		wg.Wait()
		if right || shown.Load() > 0 {
			t.Fatalf("right PIN shown %v, wrong ones shown %d, after 39 concurrent guesses", right, shown.Load())
		}
		var n int
		if err := st.DB().Raw("SELECT failures FROM pin_guard WHERE scope = 'pair' AND key = ?", d.Dossier.Code+"|203.0.113.7").Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		if n != 40 {
			t.Errorf("pair count %d, want 40", n)
		}
	})
}

// TestPINConcurrentManyAddresses: 40 concurrent wrong guesses from 40
// addresses meet the per-dossier ceiling exactly.
func TestPINConcurrentManyAddresses(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newPINEnv(t, st, service.Options{PINLimits: service.PINLimits{PerDossier: 10}}, nil)
		d := e.intake("")
		var wg sync.WaitGroup
		for i := 0; i < 40; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				e.lookup(d.Dossier.Code, wrongPIN(d.PIN), fmt.Sprintf("198.51.100.%d", i))
			}()
		}
		wg.Wait()
		var n int
		if err := st.DB().Raw("SELECT failures FROM pin_guard WHERE scope = 'dossier' AND key = ?", d.Dossier.Code).Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		if n != 40 {
			t.Errorf("dossier count %d, want 40 (every attempt counted)", n)
		}
		if e.lookup(d.Dossier.Code, d.PIN, "192.0.2.1") {
			t.Fatal("the dossier's ceiling was passed: the right PIN was shown from a new address")
		}
		e.clock.Add(24*time.Hour + time.Second)
		if !e.lookup(d.Dossier.Code, d.PIN, "192.0.2.1") {
			t.Fatal("the dossier stays locked after its window")
		}
	})
}

// TestPINLockOutIsPerAddress: one address trying 5 wrong PINs on each of 11
// sequential codes locks nobody else out, and is itself stopped at its own
// limits; many addresses still meet the per-dossier ceiling.
func TestPINLockOutIsPerAddress(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newPINEnv(t, st, service.Options{}, nil)
		var ds []service.IntakeResult
		for i := 0; i < 12; i++ {
			ds = append(ds, e.intake(""))
		}
		const attacker = "203.0.113.9"
		for _, d := range ds[:11] {
			for j := 0; j < 5; j++ {
				if e.lookup(d.Dossier.Code, wrongPIN(d.PIN), attacker) {
					t.Fatal("wrong PIN shown")
				}
			}
		}
		for i, d := range ds[:11] {
			if !e.lookup(d.Dossier.Code, d.PIN, fmt.Sprintf("192.0.2.%d", i+1)) {
				t.Fatalf("citizen of %s locked out by another address's guesses", d.Dossier.Code)
			}
			if e.lookup(d.Dossier.Code, d.PIN, attacker) {
				t.Fatalf("the guessing address still tries PINs on %s", d.Dossier.Code)
			}
		}
		// 55 failures: the address is over its own limit (30 an hour), even on a dossier it never tried.
		if e.lookup(ds[11].Dossier.Code, ds[11].PIN, attacker) {
			t.Fatal("the address's limit across dossiers was not applied")
		}
		// IPv6: a /64 is one address.
		d := ds[11]
		for j := 0; j < 5; j++ {
			e.lookup(d.Dossier.Code, wrongPIN(d.PIN), fmt.Sprintf("2001:db8:1:2::%x", j+1))
		}
		if e.lookup(d.Dossier.Code, d.PIN, "2001:db8:1:2::ff") {
			t.Fatal("addresses of one IPv6 /64 are counted apart")
		}
		if !e.lookup(d.Dossier.Code, d.PIN, "2001:db8:1:3::1") {
			t.Fatal("another /64 is locked out")
		}
		// Spread over many addresses, guesses on one dossier stop at its ceiling (200 a day).
		target := ds[0]
		for i := 0; i < 45; i++ {
			for j := 0; j < 5; j++ {
				e.lookup(target.Dossier.Code, wrongPIN(target.PIN), fmt.Sprintf("10.1.%d.%d", i, j))
			}
		}
		if e.lookup(target.Dossier.Code, target.PIN, "192.0.2.200") {
			t.Fatal("200 failures from many addresses did not lock the dossier")
		}
	})
}

// countingStore counts the look-up's storage calls.
type countingStore struct {
	service.Store
	counts, heads, forgives atomic.Int32
}

func (c *countingStore) CountPINAttempt(ctx context.Context, now time.Time, g []service.GuardCount) ([]int, error) {
	c.counts.Add(1)
	return c.Store.CountPINAttempt(ctx, now, g)
}

func (c *countingStore) AttemptLookup(ctx context.Context, a service.PINAttempt) (service.PINAttemptResult, error) {
	c.counts.Add(1)
	c.heads.Add(1)
	return c.Store.AttemptLookup(ctx, a)
}

func (c *countingStore) LookupHead(ctx context.Context, code string) (service.LookupHead, error) {
	c.heads.Add(1)
	return c.Store.LookupHead(ctx, code)
}

func (c *countingStore) GiveBackPINAttempts(ctx context.Context, gs []service.PINGiveBack) error {
	c.forgives.Add(int32(len(gs)))
	return c.Store.GiveBackPINAttempts(ctx, gs)
}

// TestPINEqualWork: an unknown code does the same storage calls and the same
// one PIN verification as a wrong PIN on an existing code.
func TestPINEqualWork(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		cs := &countingStore{}
		e := newPINEnv(t, st, service.Options{}, func(s service.Store) service.Store { cs.Store = s; return cs })
		d := e.intake("")
		unknown := strings.TrimSuffix(d.Dossier.Code, "1") + "9"
		work := func(code string) [4]int64 {
			c0, h0, f0, p0 := cs.counts.Load(), cs.heads.Load(), cs.forgives.Load(), service.PINChecks()
			if e.lookup(code, wrongPIN(d.PIN), "192.0.2.10") {
				t.Fatal("shown")
			}
			return [4]int64{int64(cs.counts.Load() - c0), int64(cs.heads.Load() - h0), int64(cs.forgives.Load() - f0), service.PINChecks() - p0}
		}
		wrong, none := work(d.Dossier.Code), work(unknown)
		if wrong != none {
			t.Fatalf("wrong PIN did %v (counts, head reads, forgives, PIN checks), unknown code %v", wrong, none)
		}
		if none[3] != 1 {
			t.Fatalf("unknown code did %d PIN checks, want 1", none[3])
		}
	})
}

// TestPINsAtRest: the stored hash is keyed (another key cannot check it),
// the replay PIN is sealed and deleted after its time, and old unkeyed
// hashes keep working and are upgraded.
func TestPINsAtRest(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		secret := []byte("a-secret-of-32-bytes-or-more-for-tests")
		e := newPINEnv(t, st, service.Options{Secret: secret}, nil)
		ctx := context.Background()
		d := e.intake("key-1")
		var hash, sealed string
		if err := st.DB().Raw("SELECT pin_hash FROM dossiers WHERE code = ?", d.Dossier.Code).Scan(&hash).Error; err != nil {
			t.Fatal(err)
		}
		if err := st.DB().Raw("SELECT lookup_pin FROM idempotency_keys WHERE key = 'key-1'").Scan(&sealed).Error; err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(hash, "h1$") || strings.Contains(sealed, d.PIN) || !strings.HasPrefix(sealed, "g1$") {
			t.Fatalf("at rest: hash %q, replay PIN %q", hash, sealed)
		}
		// The database alone (another service key) recovers nothing.
		other := service.New(st, e.clock, nil, service.Options{Secret: []byte("another-secret-of-32-bytes-or-more!!"), Logger: storetest.Quiet()})
		if _, err := other.Lookup(ctx, d.Dossier.Code, d.PIN, "192.0.2.1"); err == nil {
			t.Fatal("a service without the key checked the PIN")
		}
		// A replay shows the PIN again while the key lives.
		again := e.intake("key-1")
		if !again.Replay || again.PIN != d.PIN {
			t.Fatalf("replay: %+v, want PIN %s", again.Replay, d.PIN)
		}
		if n, err := e.svc.SweepIdempotencyKeys(ctx); err != nil || n != 0 {
			t.Fatalf("sweep of a fresh key: %d, %v", n, err)
		}
		e.clock.Add(24*time.Hour + time.Minute)
		if n, err := e.svc.SweepIdempotencyKeys(ctx); err != nil || n != 1 {
			t.Fatalf("sweep after 24 h: %d, %v", n, err)
		}
		var left int64
		st.DB().Table("idempotency_keys").Count(&left)
		if left != 0 {
			t.Fatalf("%d idempotency rows left", left)
		}

		// An old unkeyed hash: checked as it is, then upgraded to a keyed one.
		d2 := e.intake("")
		salt := make([]byte, 16)
		_, _ = rand.Read(salt)
		sum := sha256.Sum256(append(append([]byte{}, salt...), d2.PIN...))
		legacy := "s256$" + hex.EncodeToString(salt) + "$" + hex.EncodeToString(sum[:])
		if err := st.DB().Exec("UPDATE dossiers SET pin_hash = ? WHERE code = ?", legacy, d2.Dossier.Code).Error; err != nil {
			t.Fatal(err)
		}
		if !e.lookup(d2.Dossier.Code, d2.PIN, "192.0.2.2") {
			t.Fatal("an old hash no longer checks")
		}
		if n, err := e.svc.UpgradePINHashes(ctx); err != nil || n != 1 {
			t.Fatalf("upgrade: %d, %v", n, err)
		}
		if err := st.DB().Raw("SELECT pin_hash FROM dossiers WHERE code = ?", d2.Dossier.Code).Scan(&hash).Error; err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(hash, "h1$") || !e.lookup(d2.Dossier.Code, d2.PIN, "192.0.2.2") {
			t.Fatalf("after the upgrade: %q", hash)
		}
		if e.lookup(d2.Dossier.Code, wrongPIN(d2.PIN), "192.0.2.3") {
			t.Fatal("the upgraded hash takes a wrong PIN")
		}
		// The synthetic data set's generator hashes as the service does.
		seeded := service.SeedPINHasher(secret)(salt, d2.PIN)
		if err := st.DB().Exec("UPDATE dossiers SET pin_hash = ? WHERE code = ?", seeded, d2.Dossier.Code).Error; err != nil {
			t.Fatal(err)
		}
		if !e.lookup(d2.Dossier.Code, d2.PIN, "192.0.2.4") {
			t.Fatal("a seeded hash does not check")
		}
	})
}
