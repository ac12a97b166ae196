package portal_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/portal"
	"github.com/motcua/motcua/portal/portaltest"
	"github.com/motcua/motcua/seed"
	"github.com/motcua/motcua/service"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// BenchmarkDrain measures the sync against a fake portal answering in
// PORTAL_BENCH_DELAY (default 50ms): a backlog of PORTAL_BENCH_DOSSIERS
// seeded dossiers (default 10000; every one pending, as after an outage)
// drained by PORTAL_BENCH_WORKERS workers (default 64), the portal calls a
// second, and the intake p99 (8 clerks taking dossiers in as fast as they
// can) without the sync and while it drains. On PostgreSQL when
// TEST_DATABASE_URL is set, else SQLite. It runs once whatever b.N
// (docs/benchmarks.md):
//
//	PORTAL_BENCH=1 TEST_DATABASE_URL=postgres://... go test ./portal -run '^$' -bench Drain -benchtime 1x
func BenchmarkDrain(b *testing.B) {
	if os.Getenv("PORTAL_BENCH") == "" {
		b.Skip("PORTAL_BENCH is not set: the drain benchmark takes minutes")
	}
	envInt := func(name string, def int) int {
		if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
			return v
		}
		return def
	}
	n := envInt("PORTAL_BENCH_DOSSIERS", 10000)
	workers := envInt("PORTAL_BENCH_WORKERS", 64)
	delay := time.Duration(envInt("PORTAL_BENCH_DELAY_MS", 50)) * time.Millisecond
	ctx := context.Background()
	var st *store.Store
	if storetest.PostgresURL(b) != "" {
		st = storetest.Postgres(b)
	} else {
		st = storetest.SQLite(b)
	}
	seeded, err := seed.Run(ctx, st, seed.Options{Dossiers: n, Months: 2, Seed: 7, Logger: storetest.Quiet()})
	if err != nil {
		b.Fatal(err)
	}
	var codes []string
	if err := st.DB().Raw("SELECT code FROM dossiers").Scan(&codes).Error; err != nil {
		b.Fatal(err)
	}
	var proc struct{ Code, AgencyCode string }
	if err := st.DB().Raw("SELECT code, agency_code FROM procedures ORDER BY code LIMIT 1").Scan(&proc).Error; err != nil {
		b.Fatal(err)
	}
	svc := service.New(st, service.SystemClock{}, nil, service.Options{Logger: storetest.Quiet()})
	intakes := func(d time.Duration) (p50, p99 time.Duration, count int) {
		var mu sync.Mutex
		var lat []time.Duration
		var wg sync.WaitGroup
		end := time.Now().Add(d)
		for c := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; time.Now().Before(end); i++ {
					t := time.Now()
					_, err := svc.Intake(ctx, admin, service.IntakeCmd{ProcedureCode: proc.Code, Channel: "counter", Delivery: "counter",
						AgencyCode: proc.AgencyCode, Applicant: domain.Applicant{Name: "Bench", IDNumber: fmt.Sprintf("B%d-%d", c, i)}})
					if err != nil {
						b.Error(err)
						return
					}
					mu.Lock()
					lat = append(lat, time.Since(t))
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		slices.Sort(lat)
		if len(lat) == 0 {
			return 0, 0, 0
		}
		return lat[len(lat)/2], lat[len(lat)*99/100], len(lat)
	}
	// Intake alone.
	base50, base99, baseN := intakes(20 * time.Second)

	fake := portaltest.New("motcua", "pw", unit)
	defer fake.Close()
	fake.SetDelay(delay)
	client, err := portal.NewClient(portal.Config{URL: fake.URL(), Username: "motcua", Password: "pw", Unit: unit, Timeout: 10 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	if err := st.PortalMark(ctx, codes, time.Now()); err != nil {
		b.Fatal(err)
	}
	s := portal.New(nil, st, client, nil, portal.Options{Workers: workers, NoConsumer: true, Logger: storetest.Quiet()})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- s.Run(runCtx) }()
	// Intake while it drains.
	sync50, sync99, syncN := intakes(20 * time.Second)
	for {
		bl, err := st.PortalBacklog(ctx, 0)
		if err != nil {
			b.Fatal(err)
		}
		if bl.Pending == 0 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	drain := time.Since(start)
	stop()
	<-done
	calls := len(fake.Calls())
	b.ReportMetric(float64(calls)/drain.Seconds(), "calls/s")
	b.ReportMetric(drain.Seconds(), "drain-s")
	b.ReportMetric(float64(base99.Microseconds())/1000, "intake-p99-ms-alone")
	b.ReportMetric(float64(sync99.Microseconds())/1000, "intake-p99-ms-syncing")
	b.Logf("%s: %d dossiers (%d history lines seeded) + %d intakes during the drain, portal %s, %d workers: %d calls in %s = %.0f calls/s; "+
		"intake alone p50 %s p99 %s (%d), while draining p50 %s p99 %s (%d)",
		st.Dialect(), seeded.Dossiers, seeded.History, syncN, delay, workers, calls, drain.Round(time.Millisecond), float64(calls)/drain.Seconds(),
		base50, base99, baseN, sync50, sync99, syncN)
}
