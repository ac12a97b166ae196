package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// The store's contract with the service (service/ports.go), on both
// databases: what a second writer, a second watcher or a second relay may
// and may not do.

const (
	unit = "000.00.10.H29"
	lead = "000.00.07.H29"
)

// newDossier saves a unit, its lead agency and a one-step procedure, and
// inserts a dossier received at the counter at now.
func newDossier(t *testing.T, st *store.Store, seq int, now time.Time) *domain.Dossier {
	t.Helper()
	ctx := context.Background()
	p := domain.Procedure{Code: "1.001612", Version: 1, Name: "Thủ tục", AgencyCode: lead, Unit: domain.UnitWorkingDays, Amount: 1,
		Minutes: domain.MinutesPerWorkingDay, CreatedAt: now}
	p.Normalize()
	actor := domain.Actor{Sub: "clerk", Roles: []domain.Role{domain.RoleClerk}, Agency: unit}
	in := domain.IntakeInput{Procedure: p, AgencyCode: unit, Channel: domain.ChannelCounter, Delivery: domain.DeliveryCounter,
		Applicant: domain.Applicant{Name: "A", IDNumber: "1"}, ReceivedAt: now}
	cal := domain.NewCalendar(domain.DefaultOfficeHours(), nil)
	code := domain.DossierCode(unit, now, int64(seq))
	d, ch := domain.Receive(in, code, "hash", cal, actor, now, domain.DefaultDueSoonLead)
	err := st.InTx(ctx, func(tx service.Tx) error {
		if seq == 1 {
			for _, a := range []domain.Agency{{Code: lead, Name: "Sở"}, {Code: unit, Name: "Trung tâm"}} {
				if err := tx.SaveAgency(ctx, a); err != nil {
					return err
				}
			}
			if err := tx.SaveProcedure(ctx, p); err != nil {
				return err
			}
		}
		return tx.InsertDossier(ctx, d, ch)
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestContractVersionConflict: UpdateDossier writes only over the version
// read; of two writers that read the same version, one wins and the other
// gets version_conflict, and its change (history, events) is not written.
func TestContractVersionConflict(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 3, 16, 2, 0, 0, 0, time.UTC)
		d := newDossier(t, st, 1, now)
		update := func(note string, readVersion int) error {
			return st.InTx(ctx, func(tx service.Tx) error {
				cur, err := tx.DossierForUpdate(ctx, d.Code)
				if err != nil {
					return err
				}
				cur.Version = readVersion + 1
				h := domain.HistoryEntry{At: now, Actor: "x", Action: domain.HistoryAction(note), From: cur.Status, To: cur.Status}
				ev := domain.Event{Type: domain.EventStepCompleted, DossierCode: cur.Code, AgencyCode: unit, OccurredAt: now}
				return tx.UpdateDossier(ctx, cur, readVersion, domain.Change{History: []domain.HistoryEntry{h}, Events: []domain.Event{ev}})
			})
		}
		if err := update("first", 1); err != nil {
			t.Fatal(err)
		}
		err := update("stale", 1)
		var de *domain.Error
		if !errors.As(err, &de) || de.Kind != domain.Conflict || de.Code != "version_conflict" {
			t.Fatalf("a write over version 1 after it moved to 2: %v, want Conflict version_conflict", err)
		}
		got, err := st.Dossier(ctx, d.Code)
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != 2 || len(got.History) != 2 || got.History[1].Action != "first" {
			t.Fatalf("version %d, history %+v: the stale change was written", got.Version, got.History)
		}
		if recs, _ := st.PendingEvents(ctx, 10); len(recs) != 2 { // received + the first change's
			t.Fatalf("%d events in the outbox, want 2", len(recs))
		}
	})
}

// TestContractClaims: a check is claimed once: a second claim of the same
// (dossier, kind, step, deadline) is not fresh, within one call or across
// calls; another deadline of the same kind is.
func TestContractClaims(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 3, 16, 2, 0, 0, 0, time.UTC)
		d := newDossier(t, st, 1, now)
		due := now.Add(8 * time.Hour).UnixMicro()
		overdue := service.Claim{DossierID: d.ID, Kind: domain.EventOverdue, Deadline: due}
		soon := service.Claim{DossierID: d.ID, Kind: domain.EventDueSoon, Deadline: due}
		step := service.Claim{DossierID: d.ID, Kind: domain.EventStepOverdue, StepSeq: 1, Deadline: due}
		claim := func(cs ...service.Claim) map[service.Claim]bool {
			t.Helper()
			var fresh map[service.Claim]bool
			if err := st.InTx(ctx, func(tx service.Tx) error {
				var err error
				fresh, err = tx.ClaimChecks(ctx, cs, now)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return fresh
		}
		if f := claim(overdue, soon); !f[overdue] || !f[soon] || len(f) != 2 {
			t.Fatalf("first claims: %v", f)
		}
		if f := claim(overdue, step); f[overdue] || !f[step] || len(f) != 1 {
			t.Fatalf("claimed again: %v, want only the step's", f)
		}
		moved := overdue
		moved.Deadline = now.Add(16 * time.Hour).UnixMicro()
		if f := claim(moved); !f[moved] {
			t.Fatalf("a moved deadline is a new claim: %v", f)
		}
		// A claim in a transaction that rolls back is not kept.
		other := service.Claim{DossierID: d.ID, Kind: domain.EventExtensionOverdue, Deadline: due}
		boom := errors.New("roll back")
		if err := st.InTx(ctx, func(tx service.Tx) error {
			if _, err := tx.ClaimChecks(ctx, []service.Claim{other}, now); err != nil {
				return err
			}
			return boom
		}); !errors.Is(err, boom) {
			t.Fatal(err)
		}
		if f := claim(other); !f[other] {
			t.Fatalf("a rolled-back claim was kept: %v", f)
		}
	})
}

// TestContractNextCheck: NextChecksDue returns the dossiers whose next check
// has come, earliest first, up to the limit; SetNextCheckAt moves and clears
// them without touching their versions.
func TestContractNextCheck(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 3, 16, 2, 0, 0, 0, time.UTC)
		var ds []*domain.Dossier
		for i := 1; i <= 3; i++ {
			ds = append(ds, newDossier(t, st, i, now))
		}
		at := func(h int) *time.Time { t := now.Add(time.Duration(h) * time.Hour); return &t }
		due := func(when time.Time, limit int) []string {
			t.Helper()
			var codes []string
			if err := st.InTx(ctx, func(tx service.Tx) error {
				got, err := tx.NextChecksDue(ctx, when, limit)
				for _, d := range got {
					codes = append(codes, d.Code)
				}
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return codes
		}
		if err := st.InTx(ctx, func(tx service.Tx) error {
			return tx.SetNextCheckAt(ctx, map[int64]*time.Time{ds[0].ID: at(3), ds[1].ID: at(1), ds[2].ID: nil})
		}); err != nil {
			t.Fatal(err)
		}
		if got := due(*at(2), 10); len(got) != 1 || got[0] != ds[1].Code {
			t.Fatalf("due at +2h: %v, want %s", got, ds[1].Code)
		}
		if got := due(*at(5), 1); len(got) != 1 || got[0] != ds[1].Code {
			t.Fatalf("due at +5h, limit 1: %v, want the earliest %s", got, ds[1].Code)
		}
		if got := due(*at(5), 10); len(got) != 2 || got[1] != ds[0].Code {
			t.Fatalf("due at +5h: %v", got)
		}
		for _, d := range ds {
			got, err := st.Dossier(ctx, d.Code)
			if err != nil || got.Version != 1 {
				t.Fatalf("%s version %d, %v: a next check moved the version", d.Code, got.Version, err)
			}
		}
	})
}

// TestContractOutboxIDsAndOrder: events keep the order they were written in,
// with the id domain.Event.ID gives (a keyed event's the same every time),
// and marking published is idempotent, whatever the seqs named.
func TestContractOutboxIDsAndOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 3, 16, 2, 0, 0, 0, time.UTC)
		keyed := domain.Event{Type: domain.EventOverdue, DossierCode: "c", AgencyCode: unit, OccurredAt: now, Key: "c|overdue|0|x"}
		evs := []domain.Event{
			{Type: domain.EventReceived, DossierCode: "a", AgencyCode: unit, OccurredAt: now},
			keyed,
			{Type: domain.EventTransferred, DossierCode: "a", AgencyCode: unit, OccurredAt: now.Add(time.Minute)},
		}
		if err := st.InTx(ctx, func(tx service.Tx) error { return tx.WriteEvents(ctx, evs) }); err != nil {
			t.Fatal(err)
		}
		recs, err := st.PendingEvents(ctx, 10)
		if err != nil || len(recs) != 3 {
			t.Fatalf("pending %+v, %v", recs, err)
		}
		want, _ := keyed.ID()
		for i, r := range recs {
			if r.Type != evs[i].Type || r.Subject != evs[i].Subject() || !r.OccurredAt.Equal(evs[i].OccurredAt) {
				t.Errorf("record %d: %+v, want %+v", i, r, evs[i])
			}
			if i > 0 && r.Seq <= recs[i-1].Seq {
				t.Errorf("seqs out of order: %d after %d", r.Seq, recs[i-1].Seq)
			}
		}
		if recs[1].ID != want || recs[0].ID == recs[2].ID {
			t.Errorf("ids %s %s %s; the keyed one must be %s", recs[0].ID, recs[1].ID, recs[2].ID, want)
		}
		if err := st.MarkPublished(ctx, []int64{recs[1].Seq, recs[1].Seq, 999999}, now); err != nil {
			t.Fatalf("marking a seq twice and an unknown one: %v", err)
		}
		if left, _ := st.PendingEvents(ctx, 10); len(left) != 2 || left[0].Seq != recs[0].Seq || left[1].Seq != recs[2].Seq {
			t.Fatalf("pending after marking the middle one: %+v", left)
		}
		after, err := st.PendingEventsAfter(ctx, recs[0].Seq, nil, 10)
		if err != nil || len(after) != 1 || after[0].Seq != recs[2].Seq {
			t.Fatalf("pending after seq %d: %+v, %v", recs[0].Seq, after, err)
		}
		// A gap below the cursor: the pending one is read, first; a
		// published one and an unknown one are not.
		gaps, err := st.PendingEventsAfter(ctx, recs[2].Seq, []int64{recs[0].Seq, recs[1].Seq, 999999}, 10)
		if err != nil || len(gaps) != 1 || gaps[0].Seq != recs[0].Seq {
			t.Fatalf("pending after seq %d and among the gaps: %+v, %v", recs[2].Seq, gaps, err)
		}
		both, err := st.PendingEventsAfter(ctx, recs[1].Seq, []int64{recs[0].Seq}, 10)
		if err != nil || len(both) != 2 || both[0].Seq != recs[0].Seq || both[1].Seq != recs[2].Seq {
			t.Fatalf("a gap and a row after the cursor, in seq order: %+v, %v", both, err)
		}
	})
}
