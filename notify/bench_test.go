package notify_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// BenchmarkNotify sends NOTIFY_BENCH_N (default 10,000) notifications, half
// SMS through a gateway answering in 100 ms, half e-mail through a local
// SMTP server: dossiers taken in with both channels, then the notifier
// started and timed until every row is sent (sends/s). Then intake latency
// (p50, p99 of 2,000 intakes from 8 goroutines) with the notifier busy
// against without it. One iteration is the whole run: -benchtime 1x.
// PostgreSQL when TEST_DATABASE_URL is set (BENCH_DB=postgres), else SQLite;
// NOTIFY_BENCH_WORKERS sets the notifier's senders and NOTIFY_BENCH_RATE its
// cap on sends a second (-1: none); both default to the notifier's defaults.
func BenchmarkNotify(b *testing.B) {
	total := 10000
	if v, err := strconv.Atoi(os.Getenv("NOTIFY_BENCH_N")); err == nil && v > 0 {
		total = v
	}
	for range b.N {
		var st *store.Store
		if os.Getenv("BENCH_DB") == "postgres" {
			st = storetest.Postgres(b)
			if st == nil {
				b.Fatal("BENCH_DB=postgres needs TEST_DATABASE_URL")
			}
		} else {
			st = storetest.SQLite(b)
		}
		e := newBenchEnv(b, st)
		e.sms.delay = 100 * time.Millisecond

		// A backlog: total/2 dossiers taken in with both channels.
		e.intakeLatency(total/2, 8)
		// Intake latency without a notifier.
		without := e.intakeLatency(2000, 8)
		want := total + 2*2000 + 2*2000

		o := e.options()
		o.Workers, o.Lease, o.Logger = 0, 2*time.Minute, storetest.Quiet() // the defaults
		if v, err := strconv.Atoi(os.Getenv("NOTIFY_BENCH_WORKERS")); err == nil && v > 0 {
			o.Workers = v
		}
		if v, err := strconv.ParseFloat(os.Getenv("NOTIFY_BENCH_RATE"), 64); err == nil && v != 0 {
			o.Rate = v // negative: no cap
		}
		start := time.Now()
		e.start(o)
		// Intake latency while the notifier drains the backlog.
		with := e.intakeLatency(2000, 8)
		busy := e.sentCount() < want // was it still sending all along?
		var sent int
		waitFor(b, 30*time.Minute, "every notification sent", func() bool { sent = e.sentCount(); return sent >= want })
		took := time.Since(start)
		smss, most := e.sms.delivered()
		b.ReportMetric(float64(sent)/took.Seconds(), "sends/s")
		b.ReportMetric(float64(without[0].Microseconds())/1000, "intake-p50-ms-without")
		b.ReportMetric(float64(without[1].Microseconds())/1000, "intake-p99-ms-without")
		b.ReportMetric(float64(with[0].Microseconds())/1000, "intake-p50-ms-with")
		b.ReportMetric(float64(with[1].Microseconds())/1000, "intake-p99-ms-with")
		b.Logf("%s: %d sent in %s (%d SMS, a ref posted at most %d times; %d e-mails); notifier still sending when the measured intakes ended: %v",
			st.Dialect(), sent, took.Round(time.Millisecond), len(smss), most, len(e.mail.messages()), busy)
	}
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

// intakeLatency takes n dossiers in from c goroutines and returns p50, p99.
func (e benchEnv) intakeLatency(n, c int) [2]time.Duration {
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	clerk := domain.Actor{Sub: "clerk-1", Roles: []domain.Role{domain.RoleClerk}, Agency: center}
	for range c {
		wg.Go(func() {
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
	return [2]time.Duration{lat[n/2], lat[n*99/100]}
}
