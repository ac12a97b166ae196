// Package seed generates the national-scale synthetic data set of
// `motcua seed --dossiers N` for benchmarks and demos (docs/benchmarks.md):
// a catalogue of agencies and procedures, and dossiers carried through their
// lives by the domain's own state machine, written through the store's bulk
// loader (store.BulkLoader), which also keeps the roll-ups.
package seed

import (
	"context"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
	"github.com/motcua/motcua/store"
)

// Options drive Run, which fills the database with a national-scale
// synthetic data set: 34 provinces, each with its people's committee,
// public-service centre, twelve departments with an office each and
// twenty-four communes; a few thousand procedures; and N dossiers received
// over the last months, each carried through its life by the domain's own
// state machine (domain.Receive, Dossier.Apply) with the receiving unit's
// calendar, so deadlines, verdicts, pauses, extensions, hand-offs and history
// are what the service itself would have written. The roll-ups are counted
// from the same history lines with domain.StatStep (store.BulkTally), so
// they equal a recount. No events are written (the outbox stays empty), and
// the deadline watcher's next check is the first one after Now.
type Options struct {
	Dossiers int
	// Months of receptions, ending at Now (default 12).
	Months int
	// Now is the end of the simulated time (default: the wall clock); actions
	// due after it have not happened yet, so recent dossiers are still open.
	Now time.Time
	// Seed makes the data reproducible.
	Seed   uint64
	Logger *slog.Logger
	// PINKey is the service's secret (PIN_KEY): PINs are stored with its
	// keyed hash (service.SeedPINHasher). Empty: the older unkeyed format
	// (service.LegacyPINHash), which the service upgrades at its next start.
	PINKey []byte
}

// Result says what was written.
type Result struct {
	Agencies, Procedures                       int
	Dossiers, Steps, Pauses, History, Handoffs int64
	DailyRollups, MonthlyRollups, OpenDossiers int
	// Load is the wall time of simulating and loading the dossiers,
	// Generate the time the workers spent simulating (summed over them),
	// Index the time of the roll-ups, indexes, constraints and statistics.
	Generate, Load, Index                         time.Duration
	Samples                                       []Sample
	ReceivedFrom, ReceivedTo                      time.Time
	Late, Extended, Supplemented, Rated, Returned int64
}

// Sample is a seeded dossier a person can look up.
type Sample struct {
	Code, PIN, Status string
}

// gen is the generator's shared, read-only part once the catalogue is
// built; each worker simulates whole days with its own random source.
type gen struct {
	o        Options
	agencies []domain.Agency
	procs    []*proc
	alias    *aliasTable
	admin    domain.Actor
	hashPIN  func(salt []byte, pin string) string
}

func newGen(o Options, created time.Time) *gen {
	g := &gen{o: o, admin: domain.Actor{Sub: "seed", Roles: []domain.Role{domain.RoleAdmin}}, hashPIN: service.LegacyPINHash}
	if len(o.PINKey) > 0 {
		g.hashPIN = service.SeedPINHasher(o.PINKey)
	}
	g.catalogue(rand.New(rand.NewPCG(o.Seed, 0x6d6f74637561)), created)
	return g
}

func (g *gen) procedures() []domain.Procedure {
	out := make([]domain.Procedure, len(g.procs))
	for i, p := range g.procs {
		out[i] = p.p
	}
	return out
}

// batch is what one simulated day writes.
type batch struct {
	day     domain.Date
	rows    *store.BulkBatch
	tally   *store.BulkTally // the day's roll-up deltas, merged by the writer
	seqs    map[int]int64    // receiving agency -> last sequence of the day
	samples []Sample

	Late, Extended, Supplemented, Rated, Returned int64
}

// worker simulates days. Each day's roll-up deltas go with its batch and
// the writer adds them into one tally: a tally per worker held every (day,
// procedure) and (day, officer) once per worker, gigabytes at 10,000,000
// dossiers.
type worker struct {
	g     *gen
	rng   *rand.Rand
	tally *store.BulkTally
}

func (g *gen) worker() *worker { return &worker{g: g} }

func (o Options) withDefaults() Options {
	if o.Months <= 0 {
		o.Months = 12
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	o.Now = o.Now.UTC().Truncate(time.Microsecond)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Run writes the data set described at Options into st, a database that was
// not seeded before.
func Run(ctx context.Context, st *store.Store, o Options) (Result, error) {
	o = o.withDefaults()
	defer tuneGC()()
	last := domain.DateOf(o.Now)
	first := last.AddMonths(-o.Months).AddDays(1)
	g := newGen(o, first.AddDays(-30).Time().UTC())
	res := Result{ReceivedFrom: first.Time(), ReceivedTo: o.Now, Agencies: len(g.agencies), Procedures: len(g.procs)}
	l, err := st.NewBulkLoader(ctx, g.agencies, g.procedures())
	if err != nil {
		return res, err
	}
	dates, counts := plan(first, last, o.Dossiers)
	start := time.Now()
	p := g.start(dates, counts)
	seqs, err := p.drain(ctx, l, &res)
	if err != nil {
		return res, err
	}
	if err := l.Close(ctx); err != nil {
		return res, err
	}
	res.Generate = time.Duration(p.genNanos.Load())
	res.Load = time.Since(start)

	// Roll-ups, sequences, then the indexes back and fresh statistics.
	t := time.Now()
	rr, err := l.Finish(ctx, []*store.BulkTally{p.tally}, seqs)
	if err != nil {
		return res, err
	}
	res.DailyRollups, res.MonthlyRollups = rr.Daily, rr.Monthly
	res.Index = time.Since(t)
	return res, nil
}

// tuneGC has the collector run less often while the data set is
// generated, and returns what puts it back. The generator allocates a lot of
// short-lived rows and keeps little: collecting less often saves a fifth of
// its CPU for the database. What it keeps grows with the data set, though
// (the roll-up sums, several GB at 10,000,000 dossiers), and a heap allowed
// to grow to five times that fills the machine: unless GOMEMLIMIT says
// otherwise, a soft limit of half the memory available at the start makes
// the collector run sooner when the heap nears it.
func tuneGC() func() {
	percent := debug.SetGCPercent(400)
	limit := debug.SetMemoryLimit(-1)
	if limit == math.MaxInt64 {
		if avail := availableMemory("/proc/meminfo"); avail > 0 {
			debug.SetMemoryLimit(max(avail/2, 1<<30))
		}
	}
	return func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	}
}

// availableMemory reads MemAvailable from a Linux /proc/meminfo, in bytes
// (0 when it cannot).
func availableMemory(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "MemAvailable:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// plan spreads n receptions over the dates from first to last: working
// days carry most, weekends and days off the online ones and Saturday
// mornings.
func plan(first, last domain.Date, n int) ([]domain.Date, []int) {
	national := domain.NewCalendar(domain.DefaultOfficeHours(), nil)
	weight := func(d domain.Date) float64 {
		if national.IsWorkingDay(d) {
			return 1
		}
		return 0.12
	}
	var dates []domain.Date
	var total float64
	for d := first; !last.Before(d); d = d.AddDays(1) {
		dates = append(dates, d)
		total += weight(d)
	}
	counts := make([]int, 0, len(dates))
	planned, acc := 0, 0.0
	for _, d := range dates {
		acc += float64(n) * weight(d) / total
		k := int(math.Round(acc)) - planned
		planned += k
		counts = append(counts, k)
	}
	return dates, counts
}

// pipeline runs the workers: they simulate days ahead of the writer, at
// most window days ahead; the writer takes them in date order, so ids
// follow reception time.
type pipeline struct {
	g        *gen
	dates    []domain.Date
	results  []chan *batch
	slots    chan struct{}
	next     atomic.Int64
	genNanos atomic.Int64
	stop     chan struct{}
	ws       []*worker
	wg       sync.WaitGroup
	tally    *store.BulkTally // every day's roll-up deltas, added by the writer
}

func (g *gen) start(dates []domain.Date, counts []int) *pipeline {
	// The window is counted in dossiers too (about 40,000 in flight), so
	// memory stays bounded however many dossiers a day brings.
	total := 0
	for _, n := range counts {
		total += n
	}
	window := max(2, min(8, 40_000*len(dates)/max(1, total)))
	p := &pipeline{g: g, dates: dates, results: make([]chan *batch, len(dates)), slots: make(chan struct{}, window),
		stop: make(chan struct{}), ws: make([]*worker, min(max(1, runtime.GOMAXPROCS(0)), 4)), tally: store.NewBulkTally()}
	for i := range p.results {
		p.results[i] = make(chan *batch, 1)
	}
	for range window {
		p.slots <- struct{}{}
	}
	for k := range p.ws {
		p.ws[k] = g.worker()
		p.wg.Add(1)
		go p.run(p.ws[k], counts)
	}
	return p
}

// run simulates the next day not taken, while there is room in the window.
func (p *pipeline) run(w *worker, counts []int) {
	defer p.wg.Done()
	for {
		select {
		case <-p.slots:
		case <-p.stop:
			return
		}
		i := int(p.next.Add(1) - 1)
		if i >= len(p.dates) {
			return
		}
		t := time.Now()
		b := w.day(p.dates[i], counts[i])
		p.genNanos.Add(int64(time.Since(t)))
		p.results[i] <- b
	}
}

// drain writes the days in order, adds them up in res, and returns the
// units' last sequence numbers per day.
func (p *pipeline) drain(ctx context.Context, l *store.BulkLoader, res *Result) ([]store.BulkSequence, error) {
	fail := func(err error) ([]store.BulkSequence, error) {
		close(p.stop)
		l.Abort()
		p.wg.Wait()
		return nil, err
	}
	var seqs []store.BulkSequence
	start := time.Now()
	for i := range p.dates {
		var b *batch
		select {
		case b = <-p.results[i]:
		case <-ctx.Done():
			return fail(ctx.Err())
		}
		res.add(b)
		p.tally.Merge(b.tally)
		b.tally = nil
		for a, n := range b.seqs {
			seqs = append(seqs, store.BulkSequence{AgencyCode: p.g.agencies[a].Code, Day: b.day.Time().Format("060102"), Last: n})
		}
		if err := l.Write(ctx, b.rows); err != nil {
			return fail(err)
		}
		p.slots <- struct{}{}
		if i%30 == 29 {
			p.g.o.Logger.Info("seed", "through", p.dates[i].String(), "dossiers", res.Dossiers, "took", time.Since(start).Round(time.Second).String())
		}
	}
	close(p.stop)
	p.wg.Wait()
	return seqs, nil
}

// add counts a day's batch in the result.
func (res *Result) add(b *batch) {
	c := b.rows.Counts()
	res.Dossiers += int64(c.Dossiers)
	res.Steps += int64(c.Steps)
	res.Pauses += int64(c.Pauses)
	res.History += int64(c.History)
	res.Handoffs += int64(c.Handoffs)
	res.OpenDossiers += c.Open
	res.Late += b.Late
	res.Extended += b.Extended
	res.Supplemented += b.Supplemented
	res.Rated += b.Rated
	res.Returned += b.Returned
	if len(res.Samples) < 5 {
		res.Samples = append(res.Samples, b.samples...)
	}
}
