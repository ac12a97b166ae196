package events_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

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
	var got, want domain.EventData
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

// sdkEncode is the reference: the same event built with the CloudEvents SDK
// (how Encode worked before it wrote the envelope itself).
func sdkEncode(rec service.OutboxRecord) ([]byte, error) {
	if rec.ID == "" || strings.TrimSpace(rec.ID) != rec.ID {
		return nil, errors.New("no event id")
	}
	if rec.Type == "" {
		return nil, errors.New("no event type")
	}
	data := bytes.TrimSpace(rec.Data)
	if len(data) == 0 || data[0] != '{' || !json.Valid(data) {
		return nil, errors.New("data is not a JSON object")
	}
	var codes struct {
		AgencyCode    string `json:"agency_code"`
		ProcedureCode string `json:"procedure_code"`
	}
	if err := json.Unmarshal(data, &codes); err != nil {
		return nil, err
	}
	if codes.AgencyCode == "" {
		return nil, errors.New("data has no agency_code")
	}
	ev := cloudevents.NewEvent()
	ev.SetID(rec.ID)
	ev.SetType(events.TypePrefix + string(rec.Type))
	ev.SetSource(events.SourcePrefix + codes.AgencyCode)
	if rec.DossierCode != "" {
		ev.SetSubject(rec.DossierCode)
	}
	if !rec.OccurredAt.IsZero() {
		ev.SetTime(rec.OccurredAt)
	}
	ev.SetExtension(events.ExtAgencyCode, codes.AgencyCode)
	if codes.ProcedureCode != "" {
		ev.SetExtension(events.ExtProcedureCode, codes.ProcedureCode)
	}
	ev.SetExtension(events.ExtEventKind, string(rec.Type))
	if err := ev.SetData(cloudevents.ApplicationJSON, json.RawMessage(data)); err != nil {
		return nil, err
	}
	if err := ev.Validate(); err != nil {
		return nil, err
	}
	return json.Marshal(ev)
}

var snakeCase = regexp.MustCompile(`^[a-z0-9_]+$`)

// sameAsSDK checks that Encode and the SDK agree on rec: both refuse it, or
// both encode it and the SDK reads the two as the same event.
func sameAsSDK(t *testing.T, rec service.OutboxRecord) {
	t.Helper()
	got, gerr := events.Encode(rec)
	want, werr := sdkEncode(rec)
	if werr != nil {
		if gerr == nil {
			// Encode is stricter on ids (no control characters, which a
			// Nats-Msg-Id header cannot carry); otherwise it must refuse too.
			if strings.ContainsFunc(rec.ID, unicode.IsControl) {
				t.Fatalf("Encode accepted id %q", rec.ID)
			}
			t.Fatalf("SDK refuses %+v (%v), Encode gives %s", rec, werr, got)
		}
		return
	}
	if gerr != nil {
		// Encode refuses what is not UTF-8, where the SDK writes it as is.
		if strings.ContainsFunc(rec.ID, unicode.IsControl) || !utf8.ValidString(rec.ID) || !snakeCase.MatchString(string(rec.Type)) ||
			!utf8.ValidString(rec.DossierCode) || !utf8.Valid(rec.Data) {
			return
		}
		t.Fatalf("Encode refuses %+v: %v (SDK gives %s)", rec, gerr, want)
	}
	if !json.Valid(got) {
		t.Fatalf("Encode wrote invalid JSON %s", got)
	}
	g, err := events.Decode(got)
	if err != nil {
		t.Fatalf("SDK cannot read %s: %v", got, err)
	}
	w, err := events.Decode(want)
	if err != nil {
		t.Fatalf("SDK cannot read its own %s: %v", want, err)
	}
	// The SDK escapes <, > and & in data (\u0026): compare data as JSON.
	gd, wd := g.Data(), w.Data()
	g.DataEncoded, w.DataEncoded = nil, nil
	if g.String() != w.String() {
		t.Fatalf("Encode and the SDK differ:\n%s\n%s", g, w)
	}
	var gdv, wdv any
	if json.Unmarshal(gd, &gdv) != nil || json.Unmarshal(wd, &wdv) != nil || !reflect.DeepEqual(gdv, wdv) {
		t.Fatalf("data differs:\n%s\n%s", gd, wd)
	}
	var gm, wm any
	_ = json.Unmarshal(got, &gm)
	_ = json.Unmarshal(want, &wm)
	if !reflect.DeepEqual(gm, wm) {
		t.Fatalf("Encode and the SDK differ:\n%s\n%s", got, want)
	}
}

func TestEncodeMatchesSDK(t *testing.T) {
	due := time.Date(2026, 3, 20, 10, 0, 0, 0, time.UTC)
	h := 3.25
	for _, typ := range allEventTypes(t) {
		sameAsSDK(t, record(t, 1, "000.00.07.H29-260301-0001", typ, "000.00.07.H29", func(e *domain.Event) {
			e.DueAt, e.Step = &due, "Thẩm định \"hồ sơ\"\t\\ <b>&"
			if typ.Deadline() {
				e.OverdueWorkingHours = &h
			}
		}))
	}
	odd := record(t, 2, " D\u00a0 ", domain.EventReceived, "H\u2028\x01\"29", nil)
	odd.OccurredAt = time.Date(2026, 1, 1, 0, 0, 0, 123, time.FixedZone("ICT", 7*3600))
	sameAsSDK(t, odd)
	for i, data := range []string{
		`{"x":{"agency_code":"IN"},"agency_code":"OUT","y":["agency_code",{"procedure_code":"no"}],"procedure_code":"1.1"}`,
		`{"agency_code":"FIRST","agency_code":"LAST"}`,
		`{"agency\u005fcode":"ESCAPED KEY"}`,
		`{"Agency_Code":"FOLDED","procedure_CODE":"P"}`,
		`{"agency_code":"H29","procedure_code":null}`,
		`{"agency_code":"H29","agency_code":null}`,
		`{"agency_code":"H\u00e0 N\u1ed9i \"q\""}`,
		`{"agency_code":29}`,
		`{"agency_code":"H29","n":-1.5e3,"t":true,"f":false,"z":null,"s":"a\"}b","o":{},"a":[]}`,
		`{ "agency_code" : "H29" , "procedure_code" : "P" }`,
		`{}`,
	} {
		rec := record(t, int64(10+i), "D", domain.EventReceived, "H29", nil)
		rec.Data = []byte(data)
		sameAsSDK(t, rec)
	}
	spaced := record(t, 3, "D", domain.EventReceived, "H29", nil)
	spaced.Data = []byte("  {\n  \"agency_code\": \"H29\",\n  \"procedure_code\": \"\", \"x\": [1, 2.50, {\"y\": null}]\n}\n")
	sameAsSDK(t, spaced)
}

func FuzzEncode(f *testing.F) {
	f.Add("01950c6e-3a0b-7cc1-9e2f-6a1d4b2f8e10", "received", "000.00.07.H29-260302-0001", `{"agency_code":"000.00.07.H29","procedure_code":"1.001234","status":"received"}`, int64(1772415000))
	f.Add("x", "overdue", "", `{"agency_code":"Hà Nội","procedure_code":"\u0000"}`, int64(0))
	f.Add("x\x7f", "a\"b", "\xff", `{"agency_code":"a\\b","x":{"y":[1e3]}}`, int64(-1))
	f.Add("y", "overdue", "d", `{"agency_code":"a%zz b#c?d/e:f"}`, int64(5))
	f.Fuzz(func(t *testing.T, id, typ, dossier, data string, unix int64) {
		rec := service.OutboxRecord{ID: id, Type: domain.EventType(typ), DossierCode: dossier, Data: []byte(data)}
		if unix != 0 {
			rec.OccurredAt = time.Unix(unix%(1<<34), unix%1e9)
		}
		sameAsSDK(t, rec)
	})
}

func BenchmarkEncode(b *testing.B) {
	rec := records(b, 1, 1, 1)[0]
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := events.Encode(rec); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sdk", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := sdkEncode(rec); err != nil {
				b.Fatal(err)
			}
		}
	})
}
