package service

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/motcua/motcua/domain"
)

func TestIntakeAgency(t *testing.T) {
	clerk := domain.Actor{Sub: "c", Roles: []domain.Role{domain.RoleClerk}, Agency: fakeUnit}
	admin := domain.Actor{Sub: "a", Roles: []domain.Role{domain.RoleAdmin}, Agency: fakeDept}
	officer := domain.Actor{Sub: "o", Roles: []domain.Role{domain.RoleOfficer}, Agency: fakeUnit}
	past := vn(2026, 3, 1, 9, 0)
	cases := []struct {
		name  string
		actor domain.Actor
		cmd   IntakeCmd
		want  string
		kind  domain.Kind
	}{
		{"a clerk takes in for their unit", clerk, IntakeCmd{}, fakeUnit, 0},
		{"a clerk naming their own unit", clerk, IntakeCmd{AgencyCode: fakeUnit}, fakeUnit, 0},
		{"a clerk for another unit", clerk, IntakeCmd{AgencyCode: fakeDept}, "", domain.Forbidden},
		{"an officer", officer, IntakeCmd{}, "", domain.Forbidden},
		{"an administrator for a unit", admin, IntakeCmd{AgencyCode: fakeUnit, ReceivedAt: &past}, fakeUnit, 0},
		{"an administrator with a bad code", admin, IntakeCmd{AgencyCode: "x"}, "", domain.Invalid},
		{"a clerk with no unit", domain.Actor{Sub: "c", Roles: []domain.Role{domain.RoleClerk}}, IntakeCmd{}, "", domain.Invalid},
		{"a clerk giving received_at", clerk, IntakeCmd{ReceivedAt: &past}, "", domain.Forbidden},
	}
	for _, tc := range cases {
		got, err := intakeAgency(tc.actor, tc.cmd)
		if tc.kind != 0 {
			if domain.KindOf(err) != tc.kind {
				t.Errorf("%s: %v, want kind %v", tc.name, err, tc.kind)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
}

// receive on a fake IntakeTx: the day's numbers in order, the whole change
// (history, event, next check) from the domain, the key with its sealed PIN.
func TestReceiveOnAFakeIntakeTx(t *testing.T) {
	ctx := context.Background()
	t0 := vn(2026, 3, 16, 9, 0)
	svc, c := unitService(t0)
	tx := &fakeIntake{fakeCalendars: fakeCalendars{version: 1}}
	clerk := domain.Actor{Sub: "clerk", Roles: []domain.Role{domain.RoleClerk}, Agency: fakeUnit}
	in := domain.IntakeInput{Procedure: oneDayProcedure(), AgencyCode: fakeUnit, Channel: domain.ChannelCounter,
		Delivery: domain.DeliveryCounter, Applicant: domain.Applicant{Name: "Nguyễn Văn An", IDNumber: "001090001234"}, ReceivedAt: t0}
	pin := intakePIN{pin: "12345678", hash: "hash"}

	first, err := svc.receive(ctx, tx, clerk, IntakeCmd{}, in, pin, t0)
	if err != nil {
		t.Fatal(err)
	}
	// The clock moved on while the counter was taken: the reception time
	// is read again, so numbers and times run in the same order.
	c.t = t0.Add(3 * time.Minute)
	second, err := svc.receive(ctx, tx, clerk, IntakeCmd{IdempotencyKey: "k", RequestHash: "h"}, in, pin, t0)
	if err != nil {
		t.Fatal(err)
	}
	if first.Code != fakeUnit+"-260316-0001" || second.Code != fakeUnit+"-260316-0002" {
		t.Errorf("codes %s, %s; want the day's numbers 1 and 2", first.Code, second.Code)
	}
	if !second.ReceivedAt.Equal(t0.Add(3 * time.Minute)) {
		t.Errorf("second received at %v, want the clock read again (%v)", second.ReceivedAt, t0.Add(3*time.Minute))
	}
	ch := tx.changes[0]
	if len(ch.History) != 1 || ch.History[0].Action != domain.HistoryReceive || len(ch.Events) != 1 || ch.Events[0].Type != domain.EventReceived {
		t.Errorf("change %+v, want one receive line and one received event", ch)
	}
	if len(first.History) != 1 {
		t.Errorf("the answer shows %d history lines, want the one a read shows", len(first.History))
	}
	if first.NextCheckAt == nil || first.Clock.DueAt == nil || first.NextCheckAt.After(*first.Clock.DueAt) {
		t.Errorf("next check %v, deadline %v: want a check planned at or before the deadline", first.NextCheckAt, first.Clock.DueAt)
	}
	if len(tx.keys) != 1 {
		t.Fatalf("keys %v, want only the keyed intake's", tx.keys)
	}
	if sealed := tx.keys["k"]; sealed == "" || strings.Contains(sealed, pin.pin) ||
		svc.keys.openReplay(sealed, clerk.Sub, "k", second.Code) != pin.pin {
		t.Errorf("sealed PIN %q: want the PIN sealed, not shown, and opened again for the replay", sealed)
	}

	// An administrator's import keeps its reception time, whatever the clock.
	past := t0.Add(-24 * time.Hour)
	in.ReceivedAt = past
	old, err := svc.receive(ctx, tx, clerk, IntakeCmd{ReceivedAt: &past}, in, pin, t0)
	if err != nil {
		t.Fatal(err)
	}
	if !old.ReceivedAt.Equal(past) || old.Code != fakeUnit+"-260315-0001" {
		t.Errorf("import %s received %v, want %v and the number of its own day", old.Code, old.ReceivedAt, past)
	}
}
