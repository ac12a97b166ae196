package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// The catalogue (agencies, procedures, calendar days) and the recompute
// jobs a calendar change starts. Every change of the catalogue moves its
// version on, in the change's transaction; a failed change does not.

func inTx(t *testing.T, st *store.Store, fn func(ctx context.Context, tx service.Tx) error) error {
	t.Helper()
	ctx := context.Background()
	return st.InTx(ctx, func(tx service.Tx) error { return fn(ctx, tx) })
}

// TestAgencyTree: an agency's path follows its parent; moving it moves its
// subtree; a cycle is refused; Subtree lists an agency and those below.
func TestAgencyTree(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		save := func(code, parent string) error {
			return inTx(t, st, func(ctx context.Context, tx service.Tx) error {
				return tx.SaveAgency(ctx, domain.Agency{Code: code, Name: "Cơ quan " + code, ParentCode: parent})
			})
		}
		for _, a := range [][2]string{{"A", ""}, {"B", ""}, {"A.1", "A"}, {"A.1.x", "A.1"}, {"A.2", "A"}} {
			if err := save(a[0], a[1]); err != nil {
				t.Fatalf("save %s: %v", a[0], err)
			}
		}
		v0, _ := st.CatalogueVersion(ctx)
		subtree := func(root string) []string {
			t.Helper()
			got, err := st.Subtree(ctx, root)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		if got := subtree("A"); !slices.Equal(got, []string{"A", "A.1", "A.1.x", "A.2"}) {
			t.Fatalf("subtree of A: %v", got)
		}
		if got := subtree("Z"); !slices.Equal(got, []string{"Z"}) {
			t.Fatalf("subtree of an unknown agency: %v, want itself", got)
		}
		for _, tc := range []struct {
			code, parent string
			kind         domain.Kind
		}{
			{"A", "A.1.x", domain.Invalid}, // its own ancestor
			{"A", "A", domain.Invalid},
			{"C", "nowhere", domain.NotFound},
		} {
			if err := save(tc.code, tc.parent); domain.KindOf(err) != tc.kind {
				t.Errorf("save %s under %s: %v, want %v", tc.code, tc.parent, err, tc.kind)
			}
		}
		if v, _ := st.CatalogueVersion(ctx); v != v0 {
			t.Fatalf("catalogue version %d after refused changes, want %d", v, v0)
		}
		// Move A.1 (with A.1.x) under B.
		if err := save("A.1", "B"); err != nil {
			t.Fatal(err)
		}
		if got := subtree("B"); !slices.Equal(got, []string{"A.1", "A.1.x", "B"}) {
			t.Fatalf("subtree of B after the move: %v", got)
		}
		if got := subtree("A"); !slices.Equal(got, []string{"A", "A.2"}) {
			t.Fatalf("subtree of A after the move: %v", got)
		}
		x, err := st.Agency(ctx, "A.1.x")
		if err != nil || x.Path != "/B/A.1/A.1.x/" || x.ParentCode != "A.1" {
			t.Fatalf("A.1.x after its parent moved: %+v, %v", x, err)
		}
		all, err := st.Agencies(ctx)
		if err != nil || len(all) != 5 || all[0].Code != "A" || all[4].Code != "B" {
			t.Fatalf("agencies %+v, %v", all, err)
		}
		if v, _ := st.CatalogueVersion(ctx); v != v0+1 {
			t.Fatalf("catalogue version %d after one change, want %d", v, v0+1)
		}
		if _, err := st.Agency(ctx, "nowhere"); domain.KindOf(err) != domain.NotFound {
			t.Fatalf("unknown agency: %v, want NotFound", err)
		}
	})
}

// TestProcedureVersions: each save is a new version and the current one;
// older versions stay readable by number; the list shows current versions.
func TestProcedureVersions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 3, 16, 2, 0, 0, 0, time.UTC)
		newDossier(t, st, 1, now) // agencies and 1.001612 version 1
		p := domain.Procedure{Code: "1.001612", Version: 2, Name: "Thủ tục mới", AgencyCode: lead, Unit: domain.UnitWorkingDays, Amount: 2,
			Minutes: 2 * domain.MinutesPerWorkingDay, CreatedAt: now.Add(time.Hour),
			Steps: []domain.StepDef{{Name: "Tiếp nhận", AgencyCode: unit, Minutes: 60}, {Name: "Thẩm định", AgencyCode: lead, Minutes: 2*domain.MinutesPerWorkingDay - 60}}}
		p.Normalize()
		other := domain.Procedure{Code: "1.000001", Version: 1, Name: "Khác", AgencyCode: lead, Unit: domain.UnitWorkingDays, Amount: 1,
			Minutes: domain.MinutesPerWorkingDay, CreatedAt: now}
		other.Normalize()
		for _, x := range []domain.Procedure{p, other} {
			if err := inTx(t, st, func(ctx context.Context, tx service.Tx) error { return tx.SaveProcedure(ctx, x) }); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range []struct {
			code    string
			version int
			want    string
			steps   int
		}{{"1.001612", 0, "Thủ tục mới", 2}, {"1.001612", 2, "Thủ tục mới", 2}, {"1.001612", 1, "Thủ tục", 1}, {"1.000001", 0, "Khác", 1}} {
			got, err := st.Procedure(ctx, tc.code, tc.version)
			if err != nil || got.Name != tc.want || len(got.Steps) != tc.steps {
				t.Errorf("procedure %s v%d: %+v, %v", tc.code, tc.version, got, err)
			}
		}
		got, _ := st.Procedure(ctx, "1.001612", 0)
		if got.Version != 2 || got.Steps[1].AgencyCode != lead || got.Steps[0].Minutes != 60 || got.Minutes != p.Minutes {
			t.Fatalf("current version read back: %+v", got)
		}
		for _, tc := range []struct {
			code    string
			version int
		}{{"1.001612", 3}, {"9.999999", 0}, {"9.999999", 1}} {
			if _, err := st.Procedure(ctx, tc.code, tc.version); domain.KindOf(err) != domain.NotFound {
				t.Errorf("procedure %s v%d: %v, want NotFound", tc.code, tc.version, err)
			}
		}
		// Saving a version twice is a conflict, and the current one stays.
		err := inTx(t, st, func(ctx context.Context, tx service.Tx) error { return tx.SaveProcedure(ctx, other) })
		if domain.KindOf(err) != domain.Conflict {
			t.Fatalf("a version saved twice: %v, want Conflict", err)
		}
		list, err := st.Procedures(ctx)
		if err != nil || len(list) != 2 || list[0].Code != "1.000001" || list[1].Version != 2 {
			t.Fatalf("procedures %+v, %v", list, err)
		}
	})
}

// TestCalendarDays: an agency sees the national days and its own, in date
// order; saving a day again replaces it; deleting a day not recorded is
// NotFound; every change moves the catalogue's version on.
func TestCalendarDays(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 3, 16, 2, 0, 0, 0, time.UTC)
		day := func(d int, agency string, kind domain.DayKind) domain.CalendarDay {
			return domain.CalendarDay{Date: domain.Date{Year: 2026, Month: 5, Day: d}, Kind: kind, Name: "ngày", AgencyCode: agency}
		}
		v0, _ := st.CatalogueVersion(ctx)
		for _, d := range []domain.CalendarDay{day(4, "", domain.DayHoliday), day(2, "U1", domain.DayWorkday), day(3, "U2", domain.DayHoliday),
			day(2, "", domain.DayHoliday), day(4, "", domain.DayWorkday)} {
			if err := inTx(t, st, func(ctx context.Context, tx service.Tx) error { return tx.SaveCalendarDay(ctx, d, now) }); err != nil {
				t.Fatal(err)
			}
		}
		list := func(agency string) []string {
			t.Helper()
			ds, err := st.CalendarDays(ctx, agency)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, d := range ds {
				out = append(out, d.Date.String()+"/"+d.AgencyCode+"/"+string(d.Kind))
			}
			return out
		}
		if got := list("U1"); !slices.Equal(got, []string{"2026-05-02//holiday", "2026-05-02/U1/workday", "2026-05-04//workday"}) &&
			!slices.Equal(got, []string{"2026-05-02/U1/workday", "2026-05-02//holiday", "2026-05-04//workday"}) {
			t.Fatalf("U1's days: %v", got)
		}
		if got := list(""); len(got) != 2 {
			t.Fatalf("national days: %v", got)
		}
		err := inTx(t, st, func(ctx context.Context, tx service.Tx) error {
			return tx.DeleteCalendarDay(ctx, domain.Date{Year: 2026, Month: 5, Day: 3}, "U1")
		})
		if domain.KindOf(err) != domain.NotFound {
			t.Fatalf("deleting U2's day as U1's: %v, want NotFound", err)
		}
		if err := inTx(t, st, func(ctx context.Context, tx service.Tx) error {
			return tx.DeleteCalendarDay(ctx, domain.Date{Year: 2026, Month: 5, Day: 3}, "U2")
		}); err != nil {
			t.Fatal(err)
		}
		if got := list("U2"); len(got) != 2 {
			t.Fatalf("U2's days after deleting its own: %v", got)
		}
		if v, _ := st.CatalogueVersion(ctx); v != v0+6 {
			t.Fatalf("catalogue version %d, want %d: five saves and one delete", v, v0+6)
		}
	})
}

// TestRecomputeJobs: jobs are listed pending oldest first and latest
// newest first; LockRecompute takes the oldest pending (or the one named)
// and never a finished one; progress is saved.
func TestRecomputeJobs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 3, 16, 2, 0, 0, 0, time.UTC)
		var jobs []service.Recompute
		for i, agency := range []string{"", "U1", "U2"} {
			j := service.Recompute{Date: domain.Date{Year: 2026, Month: 5, Day: i + 1}, AgencyCode: agency, Action: "holiday",
				Note: "nghỉ", Actor: "admin", CreatedAt: now, UpdatedAt: now}
			if err := inTx(t, st, func(ctx context.Context, tx service.Tx) error { return tx.CreateRecompute(ctx, &j) }); err != nil || j.ID == 0 {
				t.Fatalf("create: id %d, %v", j.ID, err)
			}
			jobs = append(jobs, j)
		}
		lock := func(id int64) (service.Recompute, bool) {
			t.Helper()
			var j service.Recompute
			var found bool
			if err := inTx(t, st, func(ctx context.Context, tx service.Tx) error {
				var err error
				j, found, err = tx.LockRecompute(ctx, id)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return j, found
		}
		if j, found := lock(0); !found || j.ID != jobs[0].ID || j.AgencyCode != "" || j.Date != jobs[0].Date {
			t.Fatalf("lock the oldest: %+v %v", j, found)
		}
		// The first job finishes: it is no longer pending nor lockable.
		done := jobs[0]
		end := now.Add(time.Minute)
		done.AfterID, done.Seen, done.Moved, done.Batches, done.UpdatedAt, done.FinishedAt = 90, 100, 7, 2, end, &end
		if err := inTx(t, st, func(ctx context.Context, tx service.Tx) error { return tx.SaveRecompute(ctx, done) }); err != nil {
			t.Fatal(err)
		}
		if j, found := lock(0); !found || j.ID != jobs[1].ID {
			t.Fatalf("lock the oldest after the first finished: %+v %v", j, found)
		}
		if j, found := lock(jobs[0].ID); found {
			t.Fatalf("locked a finished job: %+v", j)
		}
		if j, found := lock(jobs[2].ID); !found || j.AgencyCode != "U2" {
			t.Fatalf("lock by id: %+v %v", j, found)
		}
		pending, err := st.PendingRecomputes(ctx)
		if err != nil || len(pending) != 2 || pending[0].ID != jobs[1].ID || pending[1].ID != jobs[2].ID {
			t.Fatalf("pending %+v, %v", pending, err)
		}
		latest, err := st.Recomputes(ctx, 2)
		if err != nil || len(latest) != 2 || latest[0].ID != jobs[2].ID || latest[1].ID != jobs[1].ID {
			t.Fatalf("latest %+v, %v", latest, err)
		}
		got, err := st.Recompute(ctx, jobs[0].ID)
		if err != nil || !got.Done() || got.AfterID != 90 || got.Seen != 100 || got.Moved != 7 || got.Batches != 2 || got.Note != "nghỉ" {
			t.Fatalf("finished job read back: %+v, %v", got, err)
		}
		if _, err := st.Recompute(ctx, 999999); domain.KindOf(err) != domain.NotFound {
			t.Fatalf("unknown job: %v, want NotFound", err)
		}
	})
}
