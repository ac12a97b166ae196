package events_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/motcua/motcua/domain"
)

// TestEventIDs holds domain.Event.ID to RFC 9562 as github.com/google/uuid
// reads it: a keyed event's id is the same name-based UUID as the outbox
// wrote before (so a republished deadline is still a duplicate), any other a
// UUIDv7 of the time the event occurred, unique.
func TestEventIDs(t *testing.T) {
	ns := uuid.MustParse("6f1c3f5e-2b7a-4c8e-9a51-3d0f6c2e8b17")
	for _, key := range []string{"000.00.10.H29-260316-0001|overdue|0|2026-03-19T02:00:00Z", "x", strings.Repeat("é", 100)} {
		got, err := domain.Event{Key: key}.ID()
		if err != nil {
			t.Fatal(err)
		}
		if want := uuid.NewSHA1(ns, []byte(key)).String(); got != want {
			t.Errorf("key %q: id %s, want %s", key, got, want)
		}
	}
	when := time.Date(2026, 3, 16, 2, 0, 0, 123456789, time.UTC)
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id, err := domain.Event{OccurredAt: when}.ID()
		if err != nil {
			t.Fatal(err)
		}
		u, err := uuid.Parse(id)
		if err != nil || u.Version() != 7 || u.Variant() != uuid.RFC4122 || u.String() != id {
			t.Fatalf("id %s: %v, version %v, variant %v", id, err, u.Version(), u.Variant())
		}
		sec, nsec := u.Time().UnixTime()
		if got := time.Unix(sec, nsec).UTC(); !got.Equal(when.Truncate(time.Millisecond)) {
			t.Fatalf("id %s carries %v, want %v", id, got, when)
		}
		if seen[id] {
			t.Fatalf("id %s twice", id)
		}
		seen[id] = true
	}
}

// TestEventDataInUTC: every time of the data member is written in UTC,
// whatever zone the domain computed it in.
func TestEventDataInUTC(t *testing.T) {
	local := time.Date(2026, 3, 19, 9, 0, 0, 0, domain.Vietnam())
	b, err := domain.Event{Type: domain.EventExtended, DueAt: &local, PromisedAt: &local, OccurredAt: local}.Data()
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); strings.Contains(s, "+07:00") || strings.Count(s, "2026-03-19T02:00:00Z") != 3 {
		t.Fatalf("data %s", s)
	}
}
