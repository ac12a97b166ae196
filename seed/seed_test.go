package seed_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/seed"
	"github.com/motcua/motcua/service"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// TestSeed fills a database with the generator, checks that its roll-ups
// equal a recount from the history it wrote, that a seeded dossier takes the
// next action like any other, that the samples' PINs open their dossiers,
// and that seeding twice is refused.
func TestSeed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 11, 20, 10, 0, 0, 0, domain.Vietnam())
		before := schemaOf(t, st)
		res, err := seed.Run(ctx, st, seed.Options{Dossiers: 3000, Months: 3, Now: now, Seed: 3, Logger: storetest.Quiet()})
		if err != nil {
			t.Fatal(err)
		}
		if res.Dossiers < 2900 || res.OpenDossiers == 0 || res.Late == 0 || res.Extended == 0 || res.Rated == 0 || res.Supplemented == 0 {
			t.Fatalf("thin data: %+v", res)
		}
		// Without a key the PINs are stored in the service's older unkeyed
		// format, which a service with any key accepts.
		for _, svc := range []*service.Service{service.New(st, fixed(now), nil, service.Options{Logger: storetest.Quiet()}),
			service.New(st, fixed(now), nil, service.Options{Logger: storetest.Quiet(), Secret: []byte("another key, not the seed's")})} {
			if len(res.Samples) == 0 {
				t.Fatal("no samples")
			}
			for i, s := range res.Samples {
				if _, err := svc.Lookup(ctx, s.Code, s.PIN, fmt.Sprintf("192.0.2.%d", i+1)); err != nil {
					t.Fatalf("sample %+v: %v", s, err)
				}
			}
		}
		if diff := cmp.Diff(before, schemaOf(t, st)); diff != "" {
			t.Fatalf("the seed left the indexes or constraints changed (-before +after):\n%s", diff)
		}
		var n int64
		if err := st.DB().Raw("SELECT COUNT(*) FROM dossier_history").Scan(&n).Error; err != nil || n != res.History {
			t.Fatalf("history rows %d (%v), seed says %d", n, err, res.History)
		}
		kept, err := st.Rollups(ctx)
		if err != nil {
			t.Fatal(err)
		}
		recount, err := st.RecountRollups(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(recount, kept, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
			t.Fatalf("seeded roll-ups differ from the recount (-recount +kept):\n%s", diff)
		}
		// A seeded open dossier moves on through the service, roll-ups and all.
		var code string
		if err := st.DB().Raw("SELECT code FROM dossiers WHERE status = 4 ORDER BY id LIMIT 1").Scan(&code).Error; err != nil || code == "" {
			t.Fatalf("no dossier in processing: %v", err)
		}
		svc := service.New(st, fixed(now.Add(time.Hour)), nil, service.Options{Logger: storetest.Quiet()})
		admin := domain.Actor{Sub: "admin", Roles: []domain.Role{domain.RoleAdmin}}
		d, err := svc.Dossier(ctx, admin, code)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Transition(ctx, admin, service.TransitionCmd{Code: code, Version: d.Version,
			Input: domain.TransitionInput{Action: domain.ActionStop, Reason: "thử"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Intake(ctx, admin, service.IntakeCmd{ProcedureCode: d.ProcedureCode, Channel: "counter", AgencyCode: d.AgencyCode,
			Applicant: domain.Applicant{Name: "A", IDNumber: "1"}}); err != nil {
			t.Fatalf("intake after the seed: %v", err)
		}
		kept, _ = st.Rollups(ctx)
		recount, _ = st.RecountRollups(ctx)
		if diff := cmp.Diff(recount, kept, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
			t.Fatalf("after a command (-recount +kept):\n%s", diff)
		}
		if _, err := seed.Run(ctx, st, seed.Options{Dossiers: 10, Now: now, Logger: storetest.Quiet()}); err == nil {
			t.Fatal("a second seed was accepted")
		}
		// The admin command rebuilds the same roll-ups.
		if err := st.RebuildRollups(ctx); err != nil {
			t.Fatal(err)
		}
		rebuilt, _ := st.Rollups(ctx)
		if diff := cmp.Diff(recount, rebuilt, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
			t.Fatalf("rebuilt (-recount +rebuilt):\n%s", diff)
		}
	})
}

type fixed time.Time

func (f fixed) Now() time.Time { return time.Time(f).UTC() }

// schemaOf lists the indexes and constraints of the database (PostgreSQL,
// where the load drops and recreates them; SQLite keeps its own).
func schemaOf(t *testing.T, st *store.Store) []string {
	t.Helper()
	var out []string
	if st.Dialect() != store.Postgres {
		return out
	}
	if err := st.DB().Raw(`SELECT tablename || ' ' || indexdef FROM pg_indexes WHERE schemaname = current_schema()
		UNION ALL SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
		WHERE connamespace = current_schema()::regnamespace ORDER BY 1`).Scan(&out).Error; err != nil {
		t.Fatal(err)
	}
	return out
}
