package events_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/events"
	"github.com/motcua/motcua/service"
)

func TestEncodeRoundTrip(t *testing.T) {
	due := time.Date(2026, 3, 20, 10, 0, 0, 0, time.UTC)
	late := 12.5
	rec := record(t, 7, "000.00.07.H29-260301-0001", domain.EventOverdue, "000.00.07.H29", func(e *domain.Event) {
		e.DueAt = &due
		e.OverdueWorkingHours = &late
		e.Step = "Thẩm định"
	})

	b, err := events.Encode(rec)
	if err != nil {
		t.Fatal(err)
	}

	// Parsed by the SDK, as a consumer would.
	ev := cloudevents.NewEvent()
	if err := ev.UnmarshalJSON(b); err != nil {
		t.Fatalf("sdk cannot parse %s: %v", b, err)
	}
	if err := ev.Validate(); err != nil {
		t.Fatal(err)
	}
	checks := map[string][2]string{
		"specversion": {ev.SpecVersion(), "1.0"},
		"id":          {ev.ID(), rec.ID},
		"type":        {ev.Type(), "vn.motcua.dossier.overdue"},
		"source":      {ev.Source(), "urn:motcua:agency:000.00.07.H29"},
		"subject":     {ev.Subject(), rec.DossierCode},
		"content":     {ev.DataContentType(), "application/json"},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %q, want %q", name, c[0], c[1])
		}
	}
	if !ev.Time().Equal(rec.OccurredAt) {
		t.Errorf("time = %s, want %s", ev.Time(), rec.OccurredAt)
	}
	ext := ev.Extensions()
	for k, want := range map[string]string{"agencycode": "000.00.07.H29", "procedurecode": "1.001234", "eventkind": "overdue"} {
		if got, _ := ext[k].(string); got != want {
			t.Errorf("extension %s = %v, want %q", k, ext[k], want)
		}
	}

	// data is the record's JSON object, not a base64 string.
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	if d := string(raw["data"]); !strings.HasPrefix(d, "{") {
		t.Fatalf("data member is %s, want a JSON object", d)
	}
	if _, ok := raw["data_base64"]; ok {
		t.Error("data sent as data_base64")
	}
	var got, want service.EventData
	if err := ev.DataAs(&got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(rec.Data, &want); err != nil {
		t.Fatal(err)
	}
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(want)
	if string(gj) != string(wj) {
		t.Errorf("data = %s, want %s", gj, wj)
	}
	if got.OverdueWorkingHours == nil || *got.OverdueWorkingHours != 12.5 || got.DueAt == nil || !got.DueAt.Equal(due) {
		t.Errorf("late fields lost: %s", gj)
	}

	// Decode gives the same.
	dec, err := events.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if dec.ID() != rec.ID || dec.Type() != ev.Type() || string(dec.Data()) != string(ev.Data()) {
		t.Errorf("Decode differs: %v", dec)
	}
	if !strings.HasPrefix(ev.Type(), events.TypePrefix) {
		t.Errorf("type %q lacks the prefix", ev.Type())
	}
}

func TestEncodeRejects(t *testing.T) {
	good := record(t, 1, "D1", domain.EventReceived, "H29", nil)
	for name, mutate := range map[string]func(*service.OutboxRecord){
		"invalid JSON":   func(r *service.OutboxRecord) { r.Data = []byte(`{"agency_code": "H29"`) },
		"array":          func(r *service.OutboxRecord) { r.Data = []byte(`[1,2]`) },
		"empty":          func(r *service.OutboxRecord) { r.Data = nil },
		"no agency_code": func(r *service.OutboxRecord) { r.Data = []byte(`{"dossier_code":"D1"}`) },
		"no id":          func(r *service.OutboxRecord) { r.ID = "" },
		"no type":        func(r *service.OutboxRecord) { r.Type = "" },
	} {
		rec := good
		mutate(&rec)
		if b, err := events.Encode(rec); err == nil {
			t.Errorf("%s: encoded as %s", name, b)
		}
	}
	if _, err := events.Decode([]byte(`{"specversion":"1.0","id":"x"}`)); err == nil {
		t.Error("Decode accepted an event without source and type")
	}
}
