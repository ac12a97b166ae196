package service

import (
	"context"
	"testing"
	"time"

	"github.com/motcua/motcua/domain"
)

// The deadline watcher's batch on a fake WatchStore: what fires, once, and
// where each dossier's next look goes.

func fired(events []domain.Event) map[domain.EventType]int {
	out := map[domain.EventType]int{}
	for _, e := range events {
		out[e.Type]++
	}
	return out
}

func TestWatchBatchFiresEachCheckOnce(t *testing.T) {
	ctx := context.Background()
	t0 := vn(2026, 3, 16, 9, 0) // a Monday
	lead := int64(60)           // one working hour
	d := received(t0, 1, lead)
	checks := d.Checks(domain.NewCalendar(domain.DefaultOfficeHours(), nil), lead)
	var soon, due time.Time
	for _, c := range checks {
		switch c.Kind {
		case domain.EventDueSoon:
			soon = c.At
		case domain.EventOverdue:
			due = c.At
		}
	}
	if d.NextCheckAt == nil || !d.NextCheckAt.Equal(soon) {
		t.Fatalf("a received dossier's next check %v, want its due_soon %v (Receive plans it)", d.NextCheckAt, soon)
	}
	if !soon.Before(due) {
		t.Fatalf("due_soon %v is not before the deadline %v", soon, due)
	}

	cases := []struct {
		name     string
		now      time.Time
		want     map[domain.EventType]int
		wantNext *time.Time
	}{
		{"before due_soon: nothing is due", soon.Add(-time.Minute), map[domain.EventType]int{}, &soon},
		{"between due_soon and the deadline: the warning", soon.Add(time.Minute), map[domain.EventType]int{domain.EventDueSoon: 1}, &due},
		{"after the deadline: overdue only, the stale warning claimed unpublished", due.Add(time.Minute),
			map[domain.EventType]int{domain.EventOverdue: 1}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc, _ := unitService(tc.now)
			svc.opts.DueSoonLead = lead
			d := received(t0, 1, lead)
			st := &fakeWatch{fakeCalendars: fakeCalendars{version: 1}, dossiers: []*domain.Dossier{d}}
			pass := WatchPass{Fired: map[domain.EventType]int{}}
			n, err := svc.watchBatch(ctx, st, tc.now, &pass)
			if err != nil {
				t.Fatal(err)
			}
			wantSeen := 1
			if tc.now.Before(soon) {
				wantSeen = 0
			}
			if n != wantSeen {
				t.Errorf("took %d dossiers, want %d", n, wantSeen)
			}
			if got := fired(st.events); !equalCounts(got, tc.want) || !equalCounts(pass.Fired, tc.want) {
				t.Errorf("fired %v (pass %v), want %v", got, pass.Fired, tc.want)
			}
			if n > 0 {
				next, ok := st.next[d.ID]
				if !ok || (next == nil) != (tc.wantNext == nil) || (next != nil && !next.Equal(*tc.wantNext)) {
					t.Errorf("next check %v (set %v), want %v", next, ok, tc.wantNext)
				}
			}
			for _, e := range st.events {
				if e.Key == "" || e.OverdueWorkingHours == nil || e.DossierCode != d.Code {
					t.Errorf("event %+v: want a keyed deadline event of %s with its working hours", e, d.Code)
				}
			}

			// The same checks again (a retry, a second instance): claimed
			// before, so nothing more goes out.
			before := len(st.events)
			d.NextCheckAt = &t0
			if _, err := svc.watchBatch(ctx, st, tc.now, &pass); err != nil {
				t.Fatal(err)
			}
			if len(st.events) != before {
				t.Errorf("a second look wrote %d more events, want none: %+v", len(st.events)-before, st.events[before:])
			}
		})
	}
}

func equalCounts(a, b map[domain.EventType]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// A recompute job not yet at a due dossier: the watcher moves its deadline
// first (with the job's history line), so the day off recorded a moment
// ago keeps it from being judged overdue.
func TestWatchBatchCatchesUpWithAPendingRecompute(t *testing.T) {
	ctx := context.Background()
	t0 := vn(2026, 3, 16, 9, 0)
	d := received(t0, 7, domain.DefaultDueSoonLead)
	oldDue := *d.Clock.DueAt
	now := oldDue.Add(time.Minute)
	off := domain.CalendarDay{Date: domain.DateOf(oldDue), Kind: domain.DayHoliday, Name: "Nghỉ"}
	job := Recompute{ID: 1, Date: off.Date, Actor: "admin", Note: "Ngày nghỉ"}
	svc, _ := unitService(now)
	st := &fakeWatch{fakeCalendars: fakeCalendars{days: []domain.CalendarDay{off}, version: 2},
		dossiers: []*domain.Dossier{d}, pending: []Recompute{job}}
	read := d.Version
	pass := WatchPass{Fired: map[domain.EventType]int{}}
	if _, err := svc.watchBatch(ctx, st, now, &pass); err != nil {
		t.Fatal(err)
	}
	if len(st.updated) != 1 || st.reads[0] != read {
		t.Fatalf("updates %d (read versions %v), want the dossier written once at version %d", len(st.updated), st.reads, read)
	}
	if h := st.updated[0].History; len(h) != 1 || h[0].Action != domain.HistoryCalendarChanged || h[0].Note != job.Note {
		t.Errorf("history %+v, want one calendar_changed line with the job's note", h)
	}
	if !d.Clock.DueAt.After(oldDue) {
		t.Errorf("deadline %v, want it moved past the day off from %v", d.Clock.DueAt, oldDue)
	}
	if got := fired(st.events); got[domain.EventOverdue] != 0 {
		t.Errorf("fired %v: an overdue event on a deadline the day off moved", got)
	}
	if next := st.next[d.ID]; next == nil || !next.After(now) {
		t.Errorf("next check %v, want one after now, on the moved deadline", next)
	}

	// A job for another agency's day leaves the dossier alone.
	d2 := received(t0, 8, domain.DefaultDueSoonLead)
	other := job
	other.AgencyCode = fakeDept
	st2 := &fakeWatch{fakeCalendars: fakeCalendars{version: 1}, dossiers: []*domain.Dossier{d2}, pending: []Recompute{other}}
	svc2, _ := unitService(now)
	if _, err := svc2.watchBatch(ctx, st2, now, &pass); err != nil {
		t.Fatal(err)
	}
	if len(st2.updated) != 0 {
		t.Errorf("a job of another agency wrote the dossier %d times", len(st2.updated))
	}
	if got := fired(st2.events); got[domain.EventOverdue] != 1 {
		t.Errorf("fired %v, want the overdue event of the unmoved deadline", got)
	}
}

// The batch size bounds what one transaction takes.
func TestWatchBatchTakesAtMostTheBatch(t *testing.T) {
	t0 := vn(2026, 3, 16, 9, 0)
	var ds []*domain.Dossier
	for i := int64(1); i <= 5; i++ {
		ds = append(ds, received(t0, i, domain.DefaultDueSoonLead))
	}
	now := ds[0].Clock.DueAt.Add(time.Hour)
	c := &fixed{t: now}
	svc := New(nil, c, nil, Options{WatchBatch: 2})
	st := &fakeWatch{fakeCalendars: fakeCalendars{version: 1}, dossiers: ds}
	pass := WatchPass{Fired: map[domain.EventType]int{}}
	total := 0
	for i := 0; i < 4; i++ {
		n, err := svc.watchBatch(context.Background(), st, now, &pass)
		if err != nil {
			t.Fatal(err)
		}
		if n > 2 {
			t.Fatalf("batch %d took %d dossiers, the batch is 2", i, n)
		}
		total += n
	}
	if total != 5 || pass.Fired[domain.EventOverdue] != 5 {
		t.Errorf("took %d dossiers and fired %v, want 5 and 5 overdue", total, pass.Fired)
	}
	if pass.Lag < time.Hour {
		t.Errorf("lag %v, want at least the hour past the deadline", pass.Lag)
	}
}
