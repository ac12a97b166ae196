package handlers_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// TestInstancesNeverDisagree: a change acknowledged by instance A counts on
// instance B at once, though B had the old calendar, hours and names cached:
// the public deadline, an intake's due time, office hours, agency and
// procedure names.
func TestInstancesNeverDisagree(t *testing.T) {
	storetest.EachPair(t, func(t *testing.T, sa, sb *store.Store) {
		a, b := newEnv(t, sa), newEnv(t, sb)
		a.catalogue()
		admin := a.token(domain.RoleAdmin, root)
		type deadline struct {
			DueAt time.Time `json:"due_at"`
		}
		ask := func(e *env, agency string) time.Time {
			t.Helper()
			var out deadline
			path := "/api/v1/calendar/deadline?from=2026-03-16T09:00:00%2B07:00&working_days=1"
			if agency != "" {
				path += "&agency=" + agency
			}
			e.must(e.do(http.MethodGet, path, "", nil), http.StatusOK).json(t, &out)
			return out.DueAt
		}
		// B fills its caches: the national and the centre's calendars, names.
		if got, want := ask(b, ""), at(2026, 3, 17, 9, 0); !got.Equal(want) {
			t.Fatalf("B before: due %v, want %v", got, want)
		}
		if got, want := ask(b, center), at(2026, 3, 17, 9, 0); !got.Equal(want) {
			t.Fatalf("B before (centre): due %v, want %v", got, want)
		}
		first := b.intake(intakeBody("2.000635", "counter")) // 09:00 + 4 working hours
		if want := at(2026, 3, 16, 14, 0); !first.DueAt.Equal(want) {
			t.Fatalf("B intake before: due %v, want %v", first.DueAt, want)
		}
		type publicDoc struct {
			Steps []struct {
				AgencyName string `json:"agency_name"`
			} `json:"steps"`
			AgencyName string `json:"agency_name"`
		}
		var pub publicDoc
		b.must(b.do(http.MethodGet, "/api/v1/public/dossiers/"+first.Code+"?pin="+first.LookupPIN, "", nil), http.StatusOK).json(t, &pub)
		if pub.AgencyName != "Trung tâm Phục vụ hành chính công" {
			t.Fatalf("B public name before: %q", pub.AgencyName)
		}

		// A: a national day off on Tuesday 17/3.
		a.must(a.do(http.MethodPut, "/api/v1/calendar/days/2026-03-17", admin, map[string]any{"kind": "holiday", "name": "Nghỉ đột xuất"}), http.StatusOK)
		if got, want := ask(b, ""), at(2026, 3, 18, 9, 0); !got.Equal(want) {
			t.Errorf("B after A's day off: due %v, want %v", got, want)
		}
		if got, want := ask(b, center), at(2026, 3, 18, 9, 0); !got.Equal(want) {
			t.Errorf("B after A's day off (centre): due %v, want %v", got, want)
		}
		b.clock.Set(at(2026, 3, 16, 16, 0))
		d := b.intake(intakeBody("2.000635", "counter")) // 16:00 Monday + 4 h: 1 h Monday, 3 h Wednesday
		if want := at(2026, 3, 18, 11, 0); !d.DueAt.Equal(want) {
			t.Errorf("B intake after A's day off: due %v, want %v", d.DueAt, want)
		}

		// A: a new version of the procedure, 6 working hours instead of 4;
		// B took its intakes with version 1 cached.
		a.must(a.do(http.MethodPut, "/api/v1/procedures/2.000635", admin, map[string]any{
			"name": "Cấp bản sao trích lục hộ tịch", "agency_code": dept, "duration": map[string]any{"working_hours": 6},
			"supplement_clock": "pause", "online": "none",
		}), http.StatusCreated)
		d = b.intake(intakeBody("2.000635", "counter")) // 16:00 Monday + 6 h: 1 h Monday, 5 h Wednesday
		if want := at(2026, 3, 18, 14, 0); d.ProcedureVersion != 2 || !d.DueAt.Equal(want) {
			t.Errorf("B intake after A's new procedure version: version %d due %v, want 2 and %v", d.ProcedureVersion, d.DueAt, want)
		}

		// A: the centre opens 07:00-11:00 only.
		a.clock.Set(at(2026, 3, 16, 10, 0))
		a.must(a.do(http.MethodPut, "/api/v1/agencies/"+center, admin, map[string]any{"name": "Trung tâm mới", "parent_code": root,
			"office_hours": map[string]any{"mon": []string{"07:00-11:00"}, "tue": []string{"07:00-11:00"}, "wed": []string{"07:00-11:00"},
				"thu": []string{"07:00-11:00"}, "fri": []string{"07:00-11:00"}}}), http.StatusOK)
		// From Monday 09:00, 8 working hours at the centre: 2 h Monday,
		// none Tuesday (off), 4 h Wednesday, 2 h Thursday.
		if got, want := ask(b, center), at(2026, 3, 19, 9, 0); !got.Equal(want) {
			t.Errorf("B after A's office hours: due %v, want %v", got, want)
		}
		b.must(b.do(http.MethodGet, "/api/v1/public/dossiers/"+first.Code+"?pin="+first.LookupPIN, "", nil), http.StatusOK).json(t, &pub)
		if pub.AgencyName != "Trung tâm mới" {
			t.Errorf("B public name after A's rename: %q", pub.AgencyName)
		}
		// And back on A: B's day removal counts there at once.
		if got := ask(a, ""); !got.Equal(at(2026, 3, 18, 9, 0)) {
			t.Fatalf("A: due %v", got)
		}
		b.must(b.do(http.MethodDelete, "/api/v1/calendar/days/2026-03-17", admin, nil), http.StatusNoContent)
		if got, want := ask(a, ""), at(2026, 3, 17, 9, 0); !got.Equal(want) {
			t.Errorf("A after B removed the day: due %v, want %v", got, want)
		}
	})
}

// TestIntakeRacingADayOff: intakes on instance B while instance A records
// and removes a day off, round after round. Whatever the interleaving, once
// the day's recompute is done every dossier's deadline is the one the
// calendar in force gives: an intake never commits a deadline of the
// calendar before a change that its recompute then misses.
func TestIntakeRacingADayOff(t *testing.T) {
	storetest.EachPair(t, func(t *testing.T, sa, sb *store.Store) {
		a, b := newEnv(t, sa), newEnv(t, sb)
		a.catalogue()
		admin := a.token(domain.RoleAdmin, root)
		clerk := domain.Actor{Sub: "clerk@" + center, Roles: []domain.Role{domain.RoleClerk}, Agency: center}
		cmd := service.IntakeCmd{ProcedureCode: "2.000635", Channel: "counter", Delivery: "counter",
			Applicant: domain.Applicant{Name: "Nguyễn Văn An", IDNumber: "001090001234"}, Documents: []string{"Giấy đề nghị"}}
		ctx := context.Background()
		for round := 0; round < 8; round++ {
			stop := make(chan struct{})
			var wg sync.WaitGroup
			errs := make(chan error, 4)
			for w := 0; w < 4; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						if _, err := b.svc.Intake(ctx, clerk, cmd); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			time.Sleep(20 * time.Millisecond)
			var res response
			if round%2 == 0 {
				res = a.do(http.MethodPut, "/api/v1/calendar/days/2026-03-16", admin, map[string]any{"kind": "holiday", "name": "Nghỉ"})
			} else {
				res = a.do(http.MethodDelete, "/api/v1/calendar/days/2026-03-16", admin, nil)
			}
			if res.Status != http.StatusOK && res.Status != http.StatusNoContent && res.Status != http.StatusAccepted {
				t.Fatalf("round %d: %d %s", round, res.Status, res.Body)
			}
			time.Sleep(20 * time.Millisecond)
			close(stop)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if _, err := a.svc.RunRecomputes(ctx); err != nil {
				t.Fatal(err)
			}
			// Every dossier's deadline is where the calendar in force puts it.
			cal, err := a.svc.Calendar(ctx, center)
			if err != nil {
				t.Fatal(err)
			}
			var codes []string
			if err := sa.DB().Raw("SELECT code FROM dossiers").Scan(&codes).Error; err != nil {
				t.Fatal(err)
			}
			stale := 0
			for _, code := range codes {
				d, err := sa.Dossier(ctx, code)
				if err != nil {
					t.Fatal(err)
				}
				if _, moved := d.FollowCalendar(cal, clerk, at(2026, 3, 16, 9, 0), "", domain.DefaultDueSoonLead); moved {
					stale++
				}
			}
			if stale > 0 {
				t.Fatalf("round %d: %d of %d dossiers kept a deadline of the calendar before the change", round, stale, len(codes))
			}
		}
	})
}
