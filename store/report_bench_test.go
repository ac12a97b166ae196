package store_test

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"slices"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// The report benchmarks run on a database seeded with `motcua seed`
// (docs/benchmarks.md):
//
//	BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/motcua_bench?sslmode=disable \
//	BENCH_NOW=2026-11-20T10:00:00+07:00 go test ./store -run '^$' -bench Report -benchtime 15x
//
// Each reports the median and 90th percentile of its iterations. The
// "plain" variants answer the same question straight from the dossiers
// table, as a service without roll-ups would: one GROUP BY scan (with the
// pauses looked up for the paused figure), and the overdue list without the
// partial index.
func benchStore(b *testing.B) (*store.Store, *service.Service, time.Time) {
	url := os.Getenv("BENCH_DATABASE_URL")
	if url == "" {
		b.Skip("BENCH_DATABASE_URL is not set: the report benchmarks need a seeded database")
	}
	st, err := store.Open(context.Background(), store.Options{DatabaseURL: url, Logger: storetest.Quiet()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	now := time.Now()
	if v := os.Getenv("BENCH_NOW"); v != "" {
		if now, err = time.Parse(time.RFC3339, v); err != nil {
			b.Fatal(err)
		}
	}
	return st, service.New(st, fixed(now), nil, service.Options{Logger: storetest.Quiet()}), now
}

// timed runs fn b.N times and reports the median and 90th percentile.
func timed(b *testing.B, fn func() error) {
	b.Helper()
	if err := fn(); err != nil { // warm the caches once
		b.Fatal(err)
	}
	ds := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t := time.Now()
		if err := fn(); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(t))
	}
	b.StopTimer()
	slices.Sort(ds)
	b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, "ms/median")
	b.ReportMetric(float64(ds[len(ds)*9/10].Microseconds())/1000, "ms/p90")
}

var benchAdmin = domain.Actor{Sub: "bench", Roles: []domain.Role{domain.RoleAdmin}}

func BenchmarkReportCompliance(b *testing.B) {
	st, svc, _ := benchStore(b)
	ctx := context.Background()
	for _, period := range []string{"2026-Q3", "stat:2026-Q3"} {
		p, err := domain.ParsePeriod(period)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(period+"/rollups", func(b *testing.B) {
			rows := 0
			timed(b, func() error {
				rep, err := svc.Compliance(ctx, benchAdmin, service.ComplianceQuery{Period: period})
				rows = len(rep.Rows)
				return err
			})
			b.ReportMetric(float64(rows), "rows")
		})
		b.Run(period+"/plain", func(b *testing.B) {
			rows := 0
			timed(b, func() error {
				var out []struct{ LeadAgencyCode string }
				err := st.DB().WithContext(ctx).Raw(plainCompliance, plainArgs(p)...).Scan(&out).Error
				rows = len(out)
				return err
			})
			b.ReportMetric(float64(rows), "rows")
		})
	}
}

// plainCompliance counts the figures per lead agency from the dossiers
// table in one scan: what the report costs without roll-ups. (It is not
// exact where the roll-ups are: online receptions count from received_at,
// and the deadline is today's, not the one in force at the period's end.)
const plainCompliance = `
SELECT d.lead_agency_code,
  COUNT(*) FILTER (WHERE d.received_at >= @start AND d.received_at < @end) AS received,
  COUNT(*) FILTER (WHERE d.received_at >= @start AND d.received_at < @end AND d.channel = 'online') AS received_online,
  COUNT(*) FILTER (WHERE d.received_at >= @start AND d.received_at < @end AND d.channel = 'postal') AS received_postal,
  COUNT(*) FILTER (WHERE d.received_at < @start AND COALESCE(d.processed_at, d.closed_at, 'infinity') >= @start) AS carried_over,
  COUNT(*) FILTER (WHERE d.processed_at >= @start AND d.processed_at < @end) AS processed,
  COUNT(*) FILTER (WHERE d.processed_at >= @start AND d.processed_at < @end AND d.verdict = 'early') AS processed_early,
  COUNT(*) FILTER (WHERE d.processed_at >= @start AND d.processed_at < @end AND d.verdict = 'on_time') AS processed_on_time,
  COUNT(*) FILTER (WHERE d.processed_at >= @start AND d.processed_at < @end AND d.verdict = 'late') AS processed_late,
  SUM(d.used_minutes) FILTER (WHERE d.processed_at >= @start AND d.processed_at < @end) AS processing_minutes,
  COUNT(*) FILTER (WHERE d.status = 7 AND d.closed_at >= @start AND d.closed_at < @end) AS withdrawn,
  COUNT(*) FILTER (WHERE d.status IN (3, 8) AND d.closed_at >= @start AND d.closed_at < @end) AS stopped,
  COUNT(*) FILTER (WHERE d.received_at < @end AND COALESCE(d.processed_at, d.closed_at, 'infinity') >= @end) AS in_progress,
  COUNT(*) FILTER (WHERE d.received_at < @end AND COALESCE(d.processed_at, d.closed_at, 'infinity') >= @end
    AND EXISTS (SELECT 1 FROM dossier_pauses p WHERE p.dossier_id = d.id AND p.started_at < @end AND COALESCE(p.ended_at, 'infinity') >= @end)) AS paused,
  COUNT(*) FILTER (WHERE d.received_at < @end AND COALESCE(d.processed_at, d.closed_at, 'infinity') >= @end AND d.due_at < @end) AS overdue,
  COUNT(*) FILTER (WHERE d.returned_at >= @start AND d.returned_at < @end AND d.return_method = 'postal') AS returned_postal,
  COUNT(*) FILTER (WHERE d.extended_at >= @start AND d.extended_at < @end) AS apologies,
  COUNT(*) FILTER (WHERE d.rated_at >= @start AND d.rated_at < @end) AS ratings,
  COUNT(*) FILTER (WHERE d.rated_at >= @start AND d.rated_at < @end AND d.rating >= 4) AS satisfied
FROM dossiers d GROUP BY d.lead_agency_code`

func plainArgs(p domain.Period) []any {
	return []any{map[string]any{"start": p.Start().UTC(), "end": p.End().UTC()}}
}

func BenchmarkReportOverdueFirstPage(b *testing.B) {
	st, svc, now := benchStore(b)
	ctx := context.Background()
	b.Run("partial-index", func(b *testing.B) {
		items := 0
		timed(b, func() error {
			rep, err := svc.Overdue(ctx, benchAdmin, service.OverdueQuery{Limit: 50})
			items = len(rep.Items)
			return err
		})
		b.ReportMetric(float64(items), "items")
	})
	b.Run("plain", func(b *testing.B) {
		// The same first page with the planner kept off the partial
		// indexes: a scan of the open dossiers and their steps.
		items := 0
		timed(b, func() error {
			tx := st.DB().WithContext(ctx).Begin()
			defer tx.Rollback()
			for _, set := range []string{"SET LOCAL enable_indexscan = off", "SET LOCAL enable_bitmapscan = off", "SET LOCAL enable_indexonlyscan = off"} {
				if err := tx.Exec(set).Error; err != nil {
					return err
				}
			}
			var rows []struct {
				Code  string
				DueAt time.Time
			}
			err := tx.Raw(`SELECT code, due_at FROM (
				SELECT d.code, d.due_at FROM dossiers d WHERE d.status IN (2, 4) AND d.due_at < @now
				UNION ALL
				SELECT d.code, s.due_at FROM dossier_steps s JOIN dossiers d ON d.id = s.dossier_id
				WHERE s.finished_at IS NULL AND s.started_at IS NOT NULL AND s.running_since IS NOT NULL AND s.due_at < @now AND d.status IN (2, 4)
			) u ORDER BY due_at LIMIT 50`, map[string]any{"now": now.UTC()}).Scan(&rows).Error
			items = len(rows)
			return err
		})
		b.ReportMetric(float64(items), "items")
	})
}

// benchProvince is the first province (an agency without a parent) of the
// seeded catalogue.
func benchProvince(b *testing.B, st *store.Store) string {
	var code string
	if err := st.DB().Raw(`SELECT code FROM agencies WHERE parent_code IS NULL OR parent_code = '' ORDER BY code LIMIT 1`).Scan(&code).Error; err != nil || code == "" {
		b.Fatalf("no province: %v", err)
	}
	return code
}

// noIndexes runs fn in a transaction with the planner kept off the indexes.
func noIndexes(st *store.Store, fn func(tx *gorm.DB) error) error {
	tx := st.DB().Begin()
	defer tx.Rollback()
	for _, set := range []string{"SET LOCAL enable_indexscan = off", "SET LOCAL enable_bitmapscan = off", "SET LOCAL enable_indexonlyscan = off"} {
		if err := tx.Exec(set).Error; err != nil {
			return err
		}
	}
	return fn(tx)
}

func BenchmarkReportScorecard(b *testing.B) {
	st, svc, _ := benchStore(b)
	ctx := context.Background()
	province := benchProvince(b, st)
	b.Run("province-month", func(b *testing.B) {
		rows := 0
		timed(b, func() error {
			rep, err := svc.Scorecard(ctx, benchAdmin, service.ScorecardQuery{Period: "2026-10", AgencyCode: province})
			rows = len(rep.Rows)
			return err
		})
		b.ReportMetric(float64(rows), "rows")
	})
	b.Run("agree", func(b *testing.B) {
		// The roll-ups and the direct count give the same 2.1 and 5.4 for
		// every month of the data and the whole province.
		codes, err := st.Subtree(ctx, province)
		if err != nil {
			b.Fatal(err)
		}
		for m := 1; m <= 10; m++ {
			p, _ := domain.ParsePeriod(fmt.Sprintf("2026-%02d", m))
			q := service.ScoreSetQuery{From: p.Start(), To: p.End(), AgencyCodes: codes}
			got, err1 := st.ScoreSet(ctx, q)
			want, err2 := st.ScoreSetDirect(ctx, q)
			if err1 != nil || err2 != nil || !reflect.DeepEqual(got, want) {
				b.Errorf("2026-%02d: roll-ups %v (%v), direct %v (%v)", m, got, err1, want, err2)
			}
		}
	})
	b.Run("plain", func(b *testing.B) {
		// The same indicators 2.1 and 5.4 counted without the roll-ups
		// (store.ScoreSetDirect: the period's dossiers, their acceptances,
		// supplement requests and overdue states), indexes allowed; the
		// rest of the scorecard (compliance roll-ups, payments) not even
		// counted, so the ratio is a lower bound.
		p, _ := domain.ParsePeriod("2026-10")
		codes, err := st.Subtree(ctx, province)
		if err != nil {
			b.Fatal(err)
		}
		timed(b, func() error {
			_, err := st.ScoreSetDirect(ctx, service.ScoreSetQuery{From: p.Start(), To: p.End(), AgencyCodes: codes})
			return err
		})
	})
}

func BenchmarkReportLateness(b *testing.B) {
	st, svc, _ := benchStore(b)
	ctx := context.Background()
	for _, by := range []string{service.GroupByOfficer, service.GroupByUnit} {
		b.Run(by+"/2026-Q3", func(b *testing.B) {
			rows := 0
			timed(b, func() error {
				rep, err := svc.Lateness(ctx, benchAdmin, service.LatenessReportQuery{Period: "2026-Q3", GroupBy: by})
				rows = len(rep.Rows)
				return err
			})
			b.ReportMetric(float64(rows), "rows")
		})
	}
	b.Run("plain", func(b *testing.B) {
		// The same question per officer from the control slip, without the
		// roll-ups (store.LatenessRecount: the steps finished in the period
		// and the first late step of each dossier finished late), indexes
		// allowed.
		p, _ := domain.ParsePeriod("2026-Q3")
		timed(b, func() error {
			_, err := st.LatenessRecount(ctx, service.LatenessQuery{From: p.Start(), To: p.End(), GroupBy: service.GroupByOfficer})
			return err
		})
	})
}

func BenchmarkReportOverdueAsOf(b *testing.B) {
	st, svc, now := benchStore(b)
	ctx := context.Background()
	// Twelve instants over the last twelve months, one a month.
	var instants []time.Time
	for i := 1; i <= 12; i++ {
		instants = append(instants, now.AddDate(0, -i, 0).Add(-time.Duration(i)*37*time.Minute))
	}
	b.Run("spans-gist", func(b *testing.B) {
		items, k := 0, 0
		timed(b, func() error {
			at := instants[k%len(instants)]
			k++
			rep, err := svc.Overdue(ctx, benchAdmin, service.OverdueQuery{Limit: 50, AsOf: &at})
			items = len(rep.Items)
			return err
		})
		b.ReportMetric(float64(items), "items")
	})
	b.Run("plain", func(b *testing.B) {
		// The same first page from the kept states without their index.
		k := 0
		timed(b, func() error {
			at := instants[k%len(instants)]
			k++
			return noIndexes(st, func(tx *gorm.DB) error {
				var out []struct{ DossierID int64 }
				return tx.Raw(`SELECT o.dossier_id FROM overdue_spans o WHERE o.valid_from <= @at AND (o.valid_to IS NULL OR o.valid_to > @at)
					AND o.overdue_from < @at ORDER BY o.overdue_from, o.kind, o.dossier_id, o.step_seq LIMIT 50`,
					map[string]any{"at": at.UTC()}).Scan(&out).Error
			})
		})
	})
}
