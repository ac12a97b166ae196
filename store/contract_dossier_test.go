package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// TestMissingRowsAreNotFound: every read or change of one named row that
// does not exist answers a NotFound domain error (a 404), never an internal
// one.
func TestMissingRowsAreNotFound(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 3, 16, 2, 0, 0, 0, time.UTC)
		newDossier(t, st, 1, now)
		const code = "000.00.10.H29-260316-9999"
		for _, tc := range []struct {
			name string
			call func() error
		}{
			{"Dossier", func() error { _, err := st.Dossier(ctx, code); return err }},
			{"DossierForLookup", func() error { _, err := st.DossierForLookup(ctx, code); return err }},
			{"LookupHead", func() error { _, err := st.LookupHead(ctx, code); return err }},
			{"DossierForUpdate", func() error {
				return st.InTx(ctx, func(tx service.Tx) error { _, err := tx.DossierForUpdate(ctx, code); return err })
			}},
			{"Agency", func() error { _, err := st.Agency(ctx, "000.00.99.H29"); return err }},
			{"Procedure current", func() error { _, err := st.Procedure(ctx, "9.999999", 0); return err }},
			{"Procedure version", func() error { _, err := st.Procedure(ctx, "1.001612", 9); return err }},
			{"Recompute", func() error { _, err := st.Recompute(ctx, 424242); return err }},
			{"DeleteCalendarDay", func() error {
				return st.InTx(ctx, func(tx service.Tx) error {
					return tx.DeleteCalendarDay(ctx, domain.Date{Year: 2026, Month: 1, Day: 2}, "")
				})
			}},
			{"PortalResync", func() error { return st.PortalResync(ctx, code, now) }},
		} {
			if err := tc.call(); domain.KindOf(err) != domain.NotFound {
				t.Errorf("%s of a missing row: %v (kind %v), want NotFound", tc.name, err, domain.KindOf(err))
			}
		}
	})
}

// TestInsertDossierTwice: a second dossier with a code already taken is a
// duplicate conflict, and nothing of it is written.
func TestInsertDossierTwice(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 3, 16, 2, 0, 0, 0, time.UTC)
		d := newDossier(t, st, 1, now)
		again := *d
		again.ID, again.Applicant.Name = 0, "B"
		ch := domain.Change{Events: []domain.Event{{Type: domain.EventReceived, DossierCode: d.Code, AgencyCode: unit, OccurredAt: now}}}
		err := st.InTx(ctx, func(tx service.Tx) error { return tx.InsertDossier(ctx, &again, ch) })
		if domain.KindOf(err) != domain.Conflict {
			t.Fatalf("a code inserted twice: %v, want Conflict", err)
		}
		got, err := st.Dossier(ctx, d.Code)
		if err != nil || got.Applicant.Name != "A" || got.ID != d.ID {
			t.Fatalf("the first dossier after the refused second: %+v, %v", got, err)
		}
		if recs, _ := st.PendingEvents(ctx, 10); len(recs) != 1 {
			t.Fatalf("%d events, want only the first intake's", len(recs))
		}
	})
}

// overdueFixture inserts dossiers and puts each in processing at now with
// its clock and its first step's running to the given deadlines (minutes
// after now); it returns them in order.
func overdueFixture(t *testing.T, st *store.Store, now time.Time, dues [][2]int) []*domain.Dossier {
	t.Helper()
	ctx := context.Background()
	var out []*domain.Dossier
	for i, due := range dues {
		d := newDossier(t, st, i+1, now)
		err := st.InTx(ctx, func(tx service.Tx) error {
			cur, err := tx.DossierForUpdate(ctx, d.Code)
			if err != nil {
				return err
			}
			dd, sd := now.Add(time.Duration(due[0])*time.Minute), now.Add(time.Duration(due[1])*time.Minute)
			cur.Status, cur.Clock.DueAt, cur.CurrentStep = domain.StatusProcessing, &dd, 1
			s := &cur.Steps[0]
			s.StartedAt, s.Clock.RunningSince, s.Clock.DueAt = &now, &now, &sd
			cur.Version = 2
			h := domain.HistoryEntry{At: now, Actor: "x", Action: "note", From: domain.StatusReceived, To: domain.StatusProcessing}
			if err := tx.UpdateDossier(ctx, cur, 1, domain.Change{History: []domain.HistoryEntry{h}}); err != nil {
				return err
			}
			out = append(out, cur)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// rowName names an overdue row for comparisons: d1 for dossier 1, d1/s1
// for its first step.
func rowName(ds []*domain.Dossier, r service.OverdueRow) string {
	for i, d := range ds {
		if d.ID == r.DossierID {
			if r.Kind == 1 {
				return fmt.Sprintf("d%d/s%d", i+1, r.StepSeq)
			}
			return fmt.Sprintf("d%d", i+1)
		}
	}
	return fmt.Sprintf("?%d", r.DossierID)
}

// TestOverdueMerge: the overdue list merges overdue dossiers and running
// steps by deadline (a dossier before a step on the same deadline, then by
// id), counts only deadlines strictly before the instant, and pages by
// cursor without losing or repeating a row; as it stood in the past it
// still shows a dossier finished since.
func TestOverdueMerge(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 3, 16, 2, 0, 0, 0, time.UTC)
		ds := overdueFixture(t, st, now, [][2]int{{10, 20}, {30, 5}, {50, 50}, {50, 70}})
		at := func(m int) time.Time { return now.Add(time.Duration(m) * time.Minute) }
		list := func(f service.OverdueFilter) []string {
			t.Helper()
			rows, err := st.Overdue(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, r := range rows {
				out = append(out, rowName(ds, r))
			}
			return out
		}
		all := []string{"d2/s1", "d1", "d1/s1", "d2", "d3", "d4", "d3/s1", "d4/s1"}
		for _, tc := range []struct {
			asOf int
			want []string
		}{{120, all}, {50, all[:4]}, {51, all[:7]}, {5, nil}, {6, all[:1]}} {
			if got := list(service.OverdueFilter{AsOf: at(tc.asOf), Limit: 100}); !slices.Equal(got, tc.want) {
				t.Errorf("overdue at +%dm: %v, want %v", tc.asOf, got, tc.want)
			}
		}
		// Pages of the list now, and of the list as it stood (the kept
		// states; on PostgreSQL read nearest the earliest deadline first):
		// ties on the deadline (d3, d4) split across pages too.
		for _, page := range []struct {
			limit int
			past  bool
		}{{1, false}, {2, false}, {3, false}, {1, true}, {2, true}, {3, true}, {5, true}} {
			limit := page.limit
			var paged []string
			f := service.OverdueFilter{AsOf: at(120), Limit: limit, Past: page.past}
			for range 10 {
				rows, err := st.Overdue(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				if len(rows) == 0 {
					break
				}
				for _, r := range rows {
					paged = append(paged, rowName(ds, r))
				}
				last := rows[len(rows)-1]
				f.After = &service.OverdueCursor{DueAt: last.DueAt, Kind: last.Kind, ID: last.DossierID, Seq: last.StepSeq}
			}
			if !slices.Equal(paged, all) {
				t.Errorf("pages of %d (as it stood: %v): %v, want %v", limit, page.past, paged, all)
			}
		}
		if got := list(service.OverdueFilter{AsOf: at(120), Limit: 100, AgencyCodes: []string{"000.00.99.H29"}}); len(got) != 0 {
			t.Errorf("overdue of another agency: %v", got)
		}

		// d1 is processed at +40: gone from the list now, still in it as it
		// stood at +35.
		if err := st.InTx(ctx, func(tx service.Tx) error {
			cur, err := tx.DossierForUpdate(ctx, ds[0].Code)
			if err != nil {
				return err
			}
			done := at(40)
			cur.Status, cur.ProcessedAt, cur.Verdict, cur.Version = domain.StatusProcessed, &done, domain.VerdictLate, 3
			cur.Clock.RunningSince, cur.Steps[0].Clock.RunningSince, cur.Steps[0].FinishedAt = nil, nil, &done
			h := domain.HistoryEntry{At: done, Actor: "x", Action: "note", From: domain.StatusProcessing, To: domain.StatusProcessed}
			return tx.UpdateDossier(ctx, cur, 2, domain.Change{History: []domain.HistoryEntry{h}})
		}); err != nil {
			t.Fatal(err)
		}
		if got := list(service.OverdueFilter{AsOf: at(120), Limit: 100}); !slices.Equal(got, []string{"d2/s1", "d2", "d3", "d4", "d3/s1", "d4/s1"}) {
			t.Errorf("overdue now after d1 was processed: %v", got)
		}
		for _, tc := range []struct {
			asOf int
			want []string
		}{{35, all[:4]}, {45, []string{"d2/s1", "d2"}}, {3, nil}} {
			if got := list(service.OverdueFilter{AsOf: at(tc.asOf), Limit: 100, Past: true}); !slices.Equal(got, tc.want) {
				t.Errorf("overdue as it stood at +%dm: %v, want %v", tc.asOf, got, tc.want)
			}
		}
	})
}

// TestListDossiers: a list is newest received first (then by id), filtered
// by status, involved agency and overdue instant, and pages by cursor.
func TestListDossiers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 3, 16, 2, 0, 0, 0, time.UTC)
		ds := overdueFixture(t, st, now, [][2]int{{10, 20}, {30, 5}, {50, 50}})
		newDossier(t, st, 4, now) // received, not in processing: due in a working day
		names := func(f service.DossierFilter) []string {
			t.Helper()
			got, err := st.ListDossiers(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, d := range got {
				name := "d4"
				for i, x := range ds {
					if x.ID == d.ID {
						name = fmt.Sprintf("d%d", i+1)
					}
				}
				out = append(out, name)
			}
			return out
		}
		at := func(m int) *time.Time { t := now.Add(time.Duration(m) * time.Minute); return &t }
		for _, tc := range []struct {
			name string
			f    service.DossierFilter
			want []string
		}{
			{"all", service.DossierFilter{Limit: 10}, []string{"d4", "d3", "d2", "d1"}},
			{"processing", service.DossierFilter{Status: domain.StatusProcessing, Limit: 10}, []string{"d3", "d2", "d1"}},
			{"lead agency", service.DossierFilter{AgencyCodes: []string{lead}, Limit: 10}, []string{"d4", "d3", "d2", "d1"}},
			{"other agency", service.DossierFilter{AgencyCodes: []string{"000.00.99.H29"}, Limit: 10}, nil},
			{"overdue at +31m", service.DossierFilter{OverdueAt: at(31), Limit: 10}, []string{"d2", "d1"}},
			{"received later", service.DossierFilter{ReceivedFrom: at(1), Limit: 10}, nil},
			{"received before", service.DossierFilter{ReceivedTo: at(1), Limit: 2}, []string{"d4", "d3"}},
		} {
			if got := names(tc.f); !slices.Equal(got, tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
			}
		}
		page, err := st.ListDossiers(ctx, service.DossierFilter{Limit: 3})
		if err != nil || len(page) != 3 {
			t.Fatalf("first page: %d, %v", len(page), err)
		}
		last := page[2]
		rest := names(service.DossierFilter{Limit: 3, After: &service.DossierCursor{ReceivedAt: last.ReceivedAt, ID: last.ID}})
		if !slices.Equal(rest, []string{"d1"}) {
			t.Fatalf("second page: %v, want [d1]", rest)
		}
	})
}
