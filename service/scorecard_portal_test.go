package service_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// Indicator 1.4 comes from the national portal sync's state: of the three
// dossiers the department leads, received in March, two had their record
// acknowledged by the portal in March, so 1.4 = 2/3 and its points 6 x 2/3 =
// 4. A record acknowledged after the period's end does not count for it.
// Without the sync configured 1.4 is not measured, never a guess.
func TestScorecardPortalIndicator(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		svc, c := setup(t, st)
		ctx := context.Background()
		var codes []string
		for range 3 {
			res, err := svc.Intake(ctx, clerk, intakeCmd())
			if err != nil {
				t.Fatal(err)
			}
			codes = append(codes, res.Dossier.Code)
		}
		march := time.Date(2026, 3, 20, 3, 0, 0, 0, time.UTC)
		april := time.Date(2026, 4, 2, 3, 0, 0, 0, time.UTC)
		for i, at := range []time.Time{march, march, april} {
			if err := st.DB().Exec(`INSERT INTO portal_sync (dossier_code, record_synced_at, updated_at) VALUES (?, ?, ?)`,
				codes[i], at, at).Error; err != nil {
				t.Fatal(err)
			}
		}
		c.Set(time.Date(2026, 4, 3, 10, 0, 0, 0, domain.Vietnam()))
		indicator := func(s *service.Service) domain.Indicator {
			t.Helper()
			rep, err := s.Scorecard(ctx, admin, service.ScorecardQuery{Period: "2026-03", AgencyCode: dept})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rep.Rows {
				for _, g := range r.Groups {
					for _, in := range g.Indicators {
						if r.Code == dept && in.ID == "1.4" {
							return in
						}
					}
				}
			}
			t.Fatal("no indicator 1.4 for the department")
			return domain.Indicator{}
		}
		if in := indicator(svc); in.Value != nil || in.NotMeasured != domain.NotMeasuredPortal {
			t.Errorf("without the sync: %+v, want not measured", in)
		}
		synced := service.New(st, c, nil, service.Options{Logger: storetest.Quiet(), Portal: st})
		in := indicator(synced)
		if in.Value == nil || math.Abs(*in.Value-2.0/3) > 1e-9 || in.Points == nil || math.Abs(*in.Points-4) > 1e-9 {
			t.Errorf("with the sync: %+v, want 2/3 and 4 points", in)
		}
	})
}
