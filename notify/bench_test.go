package notify_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/notify"
	"github.com/motcua/motcua/service"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// BenchmarkNotify measures the notifier's weight on intake: dossiers taken
// in with both channels (NOTIFY_BENCH_N notifications, default 10,000, half
// SMS through a gateway answering in 100 ms, half e-mail through a local
// SMTP server) leave a backlog in the stream; then NOTIFY_BENCH_ROUNDS
// (default 3) rounds each time 2,000 intakes from 8 goroutines without the
// notifier, then with it started and draining the backlog (it is stopped
// again after them). It reports the medians over the rounds of each
// side's p50 and p99, the p99 of all samples of each side, and the sends
// a second while intakes ran; then a notifier without cap drains the rest.
// One iteration is the whole run: -benchtime 1x. PostgreSQL when BENCH_DB=
// postgres (TEST_DATABASE_URL), else SQLite; NOTIFY_BENCH_WORKERS and
// NOTIFY_BENCH_RATE (-1: no cap) set the notifier's senders and cap;
// NOTIFY_BENCH_BUSY=0 leaves Options.Busy unset (the build before it).
// NOTIFY_BENCH_PROFILE=dir writes CPU and allocation profiles of each
// window there (goroutines labelled part=intake|notifier|relay|fakes).
func BenchmarkNotify(b *testing.B) {
	total := envInt("NOTIFY_BENCH_N", 10000)
	rounds := envInt("NOTIFY_BENCH_ROUNDS", 3)
	for range b.N {
		st := benchStore(b)
		e := newBenchEnv(b, st)
		e.sms.setDelay(100 * time.Millisecond)
		e.intakeLatency(total/2, 8) // the backlog: total/2 dossiers with both channels
		want := total + 2*2000*2*rounds

		o := e.options()
		o.Workers, o.Logger = 0, storetest.Quiet() // the default
		// Rows taken by a notifier stopped after a round come back after
		// the lease: short, but far longer than a send.
		o.Lease = 15 * time.Second
		if v := envInt("NOTIFY_BENCH_WORKERS", 0); v > 0 {
			o.Workers = v
		}
		if v, err := strconv.ParseFloat(os.Getenv("NOTIFY_BENCH_RATE"), 64); err == nil && v != 0 {
			o.Rate = v // negative: no cap
		}
		// As serve wires it: the notifier slows to its busy rate while the
		// service takes a dossier in (NOTIFY_BENCH_BUSY=0: not wired).
		if os.Getenv("NOTIFY_BENCH_BUSY") != "0" {
			o.Busy = e.svc.Busy
		}
		var without, with []window
		for r := range rounds {
			without = append(without, e.window(fmt.Sprintf("without-r%d", r+1), nil))
			with = append(with, e.window(fmt.Sprintf("with-r%d", r+1), &o))
		}
		// The rest is drained fast (no cap, 64 senders) to check that every
		// row was sent, once.
		start, drain := time.Now(), o
		drain.Rate, drain.Workers, drain.Busy = -1, 64, nil
		stop, _ := e.start(drain)
		var sent int
		waitFor(b, 30*time.Minute, "every notification sent", func() bool { sent = e.sentCount(); return sent >= want })
		stop()
		smss, most := e.sms.delivered()
		e.report(b, without, with)
		b.Logf("%s: all %d sent (the rest drained in %s; %d SMS, a ref posted at most %d times; %d e-mails)",
			st.Dialect(), sent, time.Since(start).Round(time.Millisecond), len(smss), most, len(e.mail.messages()))
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func benchStore(b *testing.B) *store.Store {
	if os.Getenv("BENCH_DB") != "postgres" {
		return storetest.SQLite(b)
	}
	st := storetest.Postgres(b)
	if st == nil {
		b.Fatal("BENCH_DB=postgres needs TEST_DATABASE_URL")
	}
	if err := st.DB().Exec("CREATE EXTENSION IF NOT EXISTS pg_stat_statements").Error; err != nil {
		b.Logf("pg_stat_statements: %v", err)
	}
	return st
}

// window is one timed run of intakes and what the process and the
// database did meanwhile.
type window struct {
	p50, p99 time.Duration
	lat      []time.Duration
	took     time.Duration
	sent     int     // notifications sent meanwhile
	cpu, gc  float64 // the process's CPU seconds, and the GC's part
	stmts    map[string]stmtStat
}

// window times 2,000 intakes, with a notifier running on o when o is set
// (stopped after them).
func (e benchEnv) window(name string, o *notify.Options) window {
	var w window
	sent0, cpu0, gc0, st0 := e.sentCount(), cpuSeconds(), gcSeconds(), e.stmtStats()
	stopProfile := e.profile(name)
	if o != nil {
		stop, _ := e.start(*o)
		defer stop()
	}
	t0 := time.Now()
	w.lat = e.intakeLatency(2000, 8)
	w.took = time.Since(t0)
	stopProfile()
	w.p50, w.p99 = w.lat[len(w.lat)/2], w.lat[len(w.lat)*99/100]
	w.sent, w.cpu, w.gc = e.sentCount()-sent0, cpuSeconds()-cpu0, gcSeconds()-gc0
	w.stmts = diffStats(e.stmtStats(), st0)
	if o != nil && os.Getenv("NOTIFY_BENCH_EXPLAIN") != "" && e.st.Dialect() == "postgres" {
		e.explain()
	}
	return w
}

// explain logs PostgreSQL's plans of the notifier's look for due rows:
// among all due rows, and among the oldest 256.
func (e benchEnv) explain() {
	for _, from := range []string{"notifications",
		`(SELECT * FROM notifications WHERE status = 'pending' AND next_at <= now() ORDER BY next_at, id LIMIT 256)`} {
		var plan []string
		err := e.st.DB().Raw(`EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM ` + from + ` n
		WHERE n.status = 'pending' AND n.next_at <= now() AND NOT EXISTS (
			SELECT 1 FROM notifications p WHERE p.dossier_code = n.dossier_code AND p.channel = n.channel
			AND p.status = 'pending' AND p.id < n.id)
		ORDER BY n.next_at, n.id LIMIT 64`).Scan(&plan).Error
		fmt.Fprintf(os.Stderr, "due rows' plan (%v):\n%s\n", err, strings.Join(plan, "\n"))
	}
	var ids []int64
	e.st.DB().Raw(`SELECT id FROM notifications WHERE status = 'pending' ORDER BY id DESC LIMIT 64`).Scan(&ids)
	var plan []string
	err := e.st.DB().Raw(`EXPLAIN UPDATE notifications SET attempts = attempts + 1, next_at = now(), updated_at = now()
		WHERE id IN ? AND CASE WHEN status = 'pending' AND next_at <= now() THEN 1 ELSE 0 END = 1 RETURNING id`, ids).Scan(&plan).Error
	fmt.Fprintf(os.Stderr, "attempts' plan (%v):\n%s\n", err, strings.Join(plan, "\n"))
}

// profile writes the window's CPU profile and the allocations made in it
// (heap profiles before and after: go tool pprof -diff_base) when
// NOTIFY_BENCH_PROFILE names a folder.
func (e benchEnv) profile(name string) func() {
	dir := os.Getenv("NOTIFY_BENCH_PROFILE")
	if dir == "" {
		return func() {}
	}
	write := func(file string, f func(*os.File) error) {
		out, err := os.Create(filepath.Join(dir, file))
		if err == nil {
			err = f(out)
			out.Close()
		}
		if err != nil {
			e.t.Fatal(err)
		}
	}
	write("allocs-"+name+"-0.pprof", func(f *os.File) error { return pprof.Lookup("allocs").WriteTo(f, 0) })
	cpu, err := os.Create(filepath.Join(dir, "cpu-"+name+".pprof"))
	if err != nil {
		e.t.Fatal(err)
	}
	if err := pprof.StartCPUProfile(cpu); err != nil {
		e.t.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		cpu.Close()
		write("allocs-"+name+"-1.pprof", func(f *os.File) error { return pprof.Lookup("allocs").WriteTo(f, 0) })
	}
}

func readMetric(name string) float64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64 {
		return 0
	}
	return s[0].Value.Float64()
}

// cpuSeconds is the CPU the process used so far (the runtime's estimate).
func cpuSeconds() float64 {
	return readMetric("/cpu/classes/total:cpu-seconds") - readMetric("/cpu/classes/idle:cpu-seconds")
}

func gcSeconds() float64 { return readMetric("/cpu/classes/gc/total:cpu-seconds") }

// stmtStat is a statement's calls and execution time in PostgreSQL.
type stmtStat struct {
	calls int64
	ms    float64
}

// stmtStats reads pg_stat_statements for the benchmark's database; nil on
// SQLite.
func (e benchEnv) stmtStats() map[string]stmtStat {
	if e.st.Dialect() != "postgres" {
		return nil
	}
	var rows []struct {
		Query string
		Calls int64
		Ms    float64
	}
	err := e.st.DB().Raw(`SELECT query, calls, total_exec_time AS ms FROM pg_stat_statements
		WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&rows).Error
	if err != nil {
		return nil
	}
	out := make(map[string]stmtStat, len(rows))
	for _, r := range rows {
		s := out[r.Query]
		out[r.Query] = stmtStat{s.calls + r.Calls, s.ms + r.Ms}
	}
	return out
}

func diffStats(after, before map[string]stmtStat) map[string]stmtStat {
	out := map[string]stmtStat{}
	for q, a := range after {
		d := stmtStat{a.calls - before[q].calls, a.ms - before[q].ms}
		if d.calls > 0 {
			out[q] = d
		}
	}
	return out
}

// report logs each round and reports the medians and pooled p99s.
func (e benchEnv) report(b *testing.B, without, with []window) {
	for i := range without {
		wo, wi := without[i], with[i]
		b.Logf("round %d: p99 with/without %.1f/%.1f ms (%+.0f%%), p50 %.1f/%.1f ms; %d sent in %.1f s (%.0f/s); CPU s %.2f/%.2f (GC %.2f/%.2f)",
			i+1, ms(wi.p99), ms(wo.p99), 100*(ms(wi.p99)/ms(wo.p99)-1), ms(wi.p50), ms(wo.p50), wi.sent, wi.took.Seconds(),
			float64(wi.sent)/wi.took.Seconds(), wi.cpu, wo.cpu, wi.gc, wo.gc)
	}
	pick := func(ws []window, f func(window) float64) []float64 {
		v := make([]float64, len(ws))
		for i, w := range ws {
			v[i] = f(w)
		}
		return v
	}
	pooled := func(ws []window) float64 {
		var all []time.Duration
		for _, w := range ws {
			all = append(all, w.lat...)
		}
		slices.Sort(all)
		return ms(all[len(all)*99/100])
	}
	p99 := func(w window) float64 { return ms(w.p99) }
	p50 := func(w window) float64 { return ms(w.p50) }
	growth := make([]float64, len(with))
	for i := range with {
		growth[i] = 100 * (ms(with[i].p99)/ms(without[i].p99) - 1)
	}
	var sent int
	var took time.Duration
	for _, w := range with {
		sent, took = sent+w.sent, took+w.took
	}
	b.ReportMetric(float64(sent)/took.Seconds(), "sends/s")
	b.ReportMetric(median(pick(without, p50)), "intake-p50-ms-without")
	b.ReportMetric(median(pick(with, p50)), "intake-p50-ms-with")
	b.ReportMetric(median(pick(without, p99)), "intake-p99-ms-without")
	b.ReportMetric(median(pick(with, p99)), "intake-p99-ms-with")
	b.ReportMetric(median(growth), "p99-growth-%-median")
	b.ReportMetric(pooled(without), "intake-p99-ms-without-all")
	b.ReportMetric(pooled(with), "intake-p99-ms-with-all")
	e.logStatements(b, "with", with)
	e.logStatements(b, "without", without)
}

func median(v []float64) float64 {
	slices.Sort(v)
	return v[len(v)/2]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// logStatements logs the statements PostgreSQL ran in the windows, most
// time first.
func (e benchEnv) logStatements(b *testing.B, side string, ws []window) {
	sum := map[string]stmtStat{}
	for _, w := range ws {
		for q, s := range w.stmts {
			t := sum[q]
			sum[q] = stmtStat{t.calls + s.calls, t.ms + s.ms}
		}
	}
	if len(sum) == 0 {
		return
	}
	qs := slices.Collect(func(yield func(string) bool) {
		for q := range sum {
			if !yield(q) {
				return
			}
		}
	})
	slices.SortFunc(qs, func(a, b string) int { return int(sum[b].ms - sum[a].ms) })
	var all stmtStat
	for _, s := range sum {
		all = stmtStat{all.calls + s.calls, all.ms + s.ms}
	}
	var lines []string
	for _, q := range qs[:min(len(qs), 14)] {
		s := sum[q]
		q = strings.Join(strings.Fields(q), " ")
		lines = append(lines, fmt.Sprintf("  %7d calls %9.1f ms  %.110s", s.calls, s.ms, q))
	}
	// Not b.Logf: a benchmark's log is cut short.
	fmt.Fprintf(os.Stderr, "PostgreSQL, windows %s the notifier: %d calls, %.0f ms\n%s\n", side, all.calls, all.ms, strings.Join(lines, "\n"))
}

// benchEnv is env for a benchmark.
type benchEnv struct{ *env }

func newBenchEnv(b *testing.B, st *store.Store) benchEnv {
	return benchEnv{newEnv(b, st)}
}

func (e benchEnv) sentCount() int {
	rep, err := e.st.NotificationStatus(context.Background(), time.Now(), 0)
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, c := range rep.Counts {
		if c.Status == domain.NotificationSent {
			n += c.Count
		}
	}
	return n
}

// intakeLatency takes n dossiers in from c goroutines and returns the
// latencies, sorted.
func (e benchEnv) intakeLatency(n, c int) []time.Duration {
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	clerk := domain.Actor{Sub: "clerk-1", Roles: []domain.Role{domain.RoleClerk}, Agency: center}
	for range c {
		wg.Go(func() {
			pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels("part", "intake")))
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				t0 := time.Now()
				_, err := e.svc.Intake(context.Background(), clerk, service.IntakeCmd{ProcedureCode: proc, Channel: "counter", Delivery: "counter",
					Applicant: domain.Applicant{Name: "Nguyễn Văn An", IDNumber: idNum, Phone: phone, Email: email},
					Documents: []string{"Giấy đề nghị"}, Notify: []string{"sms", "email"}})
				if err != nil {
					panic(fmt.Sprint("intake: ", err))
				}
				lat[i] = time.Since(t0)
			}
		})
	}
	wg.Wait()
	slices.Sort(lat)
	return lat
}
