package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// threeSteps takes in a dossier of a procedure with three steps (the
// agencies and the first procedure come from newDossier).
func threeSteps(t *testing.T, st *store.Store, now time.Time) *domain.Dossier {
	t.Helper()
	newDossier(t, st, 1, now)
	p := domain.Procedure{Code: "1.000003", Version: 1, Name: "Ba bước", AgencyCode: lead, Unit: domain.UnitWorkingDays, Amount: 3,
		Minutes: 3 * domain.MinutesPerWorkingDay, CreatedAt: now,
		Steps: []domain.StepDef{{Name: "Thụ lý", AgencyCode: unit, Minutes: domain.MinutesPerWorkingDay},
			{Name: "Thẩm định", AgencyCode: lead, Minutes: domain.MinutesPerWorkingDay},
			{Name: "Trả lời", AgencyCode: unit, Minutes: domain.MinutesPerWorkingDay}}}
	p.Normalize()
	actor := domain.Actor{Sub: "clerk", Roles: []domain.Role{domain.RoleClerk}, Agency: unit}
	in := domain.IntakeInput{Procedure: p, AgencyCode: unit, Channel: domain.ChannelCounter, Delivery: domain.DeliveryCounter,
		Applicant: domain.Applicant{Name: "B", IDNumber: "2"}, ReceivedAt: now}
	cal := domain.NewCalendar(domain.DefaultOfficeHours(), nil)
	d, ch := domain.Receive(in, domain.DossierCode(unit, now, 2), "hash", cal, actor, now, domain.DefaultDueSoonLead)
	err := st.InTx(context.Background(), func(tx service.Tx) error {
		if err := tx.SaveProcedure(context.Background(), p); err != nil {
			return err
		}
		return tx.InsertDossier(context.Background(), d, ch)
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// stepMarks tells, per step, something that changes whenever the row is
// written: its xmin on PostgreSQL, the count of a trigger's lines on SQLite
// (the trigger is the test's own).
func stepMarks(t *testing.T, st *store.Store, id int64) map[int]string {
	t.Helper()
	q := "SELECT seq, xmin::text FROM dossier_steps WHERE dossier_id = ?"
	if st.Dialect() == store.SQLite {
		q = "SELECT s.seq, CAST((SELECT count(*) FROM step_writes w WHERE w.dossier_id = s.dossier_id AND w.seq = s.seq) AS TEXT) FROM dossier_steps s WHERE s.dossier_id = ?"
	}
	rows, err := st.DB().Raw(q, id).Rows()
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int]string{}
	for rows.Next() {
		var seq int
		var mark string
		if err := rows.Scan(&seq, &mark); err != nil {
			t.Fatal(err)
		}
		out[seq] = mark
	}
	return out
}

var timeEqual = cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })

// TestTransitionWritesChangedStepsOnly: a command rewrites the step rows
// whose values it changed and no other, and the rows read back are the
// steps as the command left them (several in one statement on
// PostgreSQL).
func TestTransitionWritesChangedStepsOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 3, 16, 2, 0, 0, 0, time.UTC)
		if st.Dialect() == store.SQLite {
			for _, q := range []string{"CREATE TABLE step_writes (dossier_id INTEGER, seq INTEGER)",
				"CREATE TRIGGER step_written AFTER UPDATE ON dossier_steps BEGIN INSERT INTO step_writes VALUES (NEW.dossier_id, NEW.seq); END"} {
				if err := st.DB().Exec(q).Error; err != nil {
					t.Fatal(err)
				}
			}
		}
		d := threeSteps(t, st, now)
		admin := domain.Actor{Sub: "admin", Name: "Quản trị", Roles: []domain.Role{domain.RoleAdmin}, Agency: unit}
		cal := domain.NewCalendar(domain.DefaultOfficeHours(), nil)
		for i, tc := range []struct {
			in      domain.TransitionInput
			written []int
		}{
			{domain.TransitionInput{Action: domain.ActionTransfer}, []int{1}},
			{domain.TransitionInput{Action: domain.ActionCompleteStep}, []int{1, 2}},
			{domain.TransitionInput{Action: domain.ActionRequestSupplement, Reason: "thiếu", Items: []string{"x"}}, []int{2}},
			{domain.TransitionInput{Action: domain.ActionReceiveSupplement}, []int{2}},
			{domain.TransitionInput{Action: domain.ActionCompleteStep}, []int{2, 3}},
		} {
			before := stepMarks(t, st, d.ID)
			var want []domain.Step
			err := st.InTx(ctx, func(tx service.Tx) error {
				cur, err := tx.DossierForUpdate(ctx, d.Code)
				if err != nil {
					return err
				}
				read := cur.Version
				ch, err := cur.Apply(tc.in, admin, now.Add(time.Duration(i+1)*time.Hour), cal, domain.DefaultDueSoonLead)
				if err != nil {
					return err
				}
				if err := tx.UpdateDossier(ctx, cur, read, ch); err != nil {
					return err
				}
				got, err := tx.DossierWritten(ctx, cur)
				want = got.Steps
				return err
			})
			if err != nil {
				t.Fatalf("%s: %v", tc.in.Action, err)
			}
			after := stepMarks(t, st, d.ID)
			var written []int
			for seq := 1; seq <= 3; seq++ {
				if after[seq] != before[seq] {
					written = append(written, seq)
				}
			}
			if !cmp.Equal(written, tc.written) {
				t.Errorf("%d %s: steps written %v, want %v (the ones changed)", i, tc.in.Action, written, tc.written)
			}
			fresh, err := st.Dossier(ctx, d.Code)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, fresh.Steps, timeEqual); diff != "" {
				t.Errorf("%d %s: steps read back differ from those written (-written +read):\n%s", i, tc.in.Action, diff)
			}
		}
	})
}

// stepping is a clock that moves on 7 minutes at each reading.
type stepping struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepping) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(7 * time.Minute)
	return c.t
}

// TestTransitionAnswerIsFreshRead: the dossier a transition answers, built
// from what its transaction wrote, is the one a read after the commit
// returns, for every kind of change (steps, pauses, hand-offs, history).
func TestTransitionAnswerIsFreshRead(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 3, 16, 2, 0, 0, 0, time.UTC)
		d := threeSteps(t, st, now)
		svc := service.New(st, &stepping{t: now}, nil, service.Options{Logger: storetest.Quiet()})
		admin := domain.Actor{Sub: "admin", Name: "Quản trị", Title: "Chuyên viên", Roles: []domain.Role{domain.RoleAdmin}, Agency: unit}
		due := now.Add(30 * 24 * time.Hour)
		version := d.Version
		for i, in := range []domain.TransitionInput{
			{Action: domain.ActionTransfer},
			{Action: domain.ActionCompleteStep},
			{Action: domain.ActionRequestSupplement, Reason: "thiếu", Items: []string{"x", "y"}},
			{Action: domain.ActionReceiveSupplement},
			{Action: domain.ActionRequestPayment, Amount: 50000, Reason: "phí"},
			{Action: domain.ActionReceivePayment, Method: domain.Delivery(domain.PaymentCounter)},
			{Action: domain.ActionExtend, Reason: "chậm", NewDueAt: &due},
			{Action: domain.ActionCompleteStep},
			{Action: domain.ActionCompleteStep, Result: "approved"},
			{Action: domain.ActionReturnResult, Method: domain.DeliveryCounter},
		} {
			got, err := svc.Transition(ctx, admin, service.TransitionCmd{Code: d.Code, Version: version, Input: in})
			if err != nil {
				t.Fatalf("%d %s: %v", i, in.Action, err)
			}
			fresh, err := svc.Dossier(ctx, admin, d.Code)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(fresh, got, timeEqual); diff != "" {
				t.Errorf("%d %s: the answer differs from a read after the commit (-read +answer):\n%s", i, in.Action, diff)
			}
			if len(got.History) == 0 || got.History[len(got.History)-1].Action != in.Action.History() {
				t.Errorf("%d %s: the answer's last history line is not the action's: %+v", i, in.Action, got.History)
			}
			version = got.Version
		}
	})
}
