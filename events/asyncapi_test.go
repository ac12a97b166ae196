package events_test

import (
	"bytes"
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/events"
	"github.com/motcua/motcua/events/eventstest"
	"github.com/motcua/motcua/service"
)

// allEventTypes lists the EventType constants declared in domain/event.go,
// read from its source so that a kind added there and not here (or in the
// AsyncAPI document) fails the tests.
func allEventTypes(t testing.TB) []domain.EventType {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "../domain/event.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []domain.EventType
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "EventType" {
				continue
			}
			for _, v := range vs.Values {
				lit, ok := v.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Fatalf("EventType constant that is not a string literal: %#v", v)
				}
				s, _ := strconv.Unquote(lit.Value)
				out = append(out, domain.EventType(s))
			}
		}
	}
	if len(out) < 18 {
		t.Fatalf("found only %d event types in domain/event.go: %v", len(out), out)
	}
	return out
}

// asyncAPI is the document, parsed, with its schemas compiled on demand.
type asyncAPI struct {
	doc      map[string]any
	compiler *jsonschema.Compiler
	schemas  map[string]*jsonschema.Schema
}

const docURL = "https://motcua.gov.vn/asyncapi.json"

func loadAsyncAPI(t testing.TB) *asyncAPI {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(events.AsyncAPI, &doc); err != nil {
		t.Fatalf("asyncapi.json: %v", err)
	}
	// The AsyncAPI schema object is JSON Schema draft 7 (plus keywords
	// this document does not use).
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	c.AssertFormat()
	raw, err := jsonschema.UnmarshalJSON(bytes.NewReader(events.AsyncAPI))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource(docURL, raw); err != nil {
		t.Fatal(err)
	}
	return &asyncAPI{doc: doc, compiler: c, schemas: map[string]*jsonschema.Schema{}}
}

// schema compiles the schema at a JSON pointer of the document.
func (a *asyncAPI) schema(t testing.TB, pointer string) *jsonschema.Schema {
	t.Helper()
	if s, ok := a.schemas[pointer]; ok {
		return s
	}
	s, err := a.compiler.Compile(docURL + "#" + pointer)
	if err != nil {
		t.Fatalf("compile %s: %v", pointer, err)
	}
	a.schemas[pointer] = s
	return s
}

// validate checks JSON bytes against the schema at pointer.
func (a *asyncAPI) validate(t testing.TB, pointer string, b []byte) error {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return a.schema(t, pointer).Validate(v)
}

// at follows a JSON pointer (#/a/b) in the document.
func (a *asyncAPI) at(ref string) (any, bool) {
	var cur any = a.doc
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func keys(m any) []string {
	mm, _ := m.(map[string]any)
	out := make([]string, 0, len(mm))
	for k := range mm {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func typeNames(ts []domain.EventType) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = string(t)
	}
	slices.Sort(out)
	return out
}

// jsonFields lists the JSON names of a struct's fields.
func jsonFields(v any) []string {
	var out []string
	rt := reflect.TypeOf(v)
	for i := range rt.NumField() {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// The document is well formed and names exactly the event kinds of
// domain/event.go and the fields of service.EventData.
func TestAsyncAPIDocument(t *testing.T) {
	a := loadAsyncAPI(t)
	if v := a.doc["asyncapi"]; v != "3.1.0" {
		t.Fatalf("asyncapi %v, want 3.1.0", v)
	}
	kinds := typeNames(allEventTypes(t))

	ch, ok := a.at("#/channels/dossierEvents")
	if !ok {
		t.Fatal("no channel dossierEvents")
	}
	chm := ch.(map[string]any)
	if chm["address"] != "dossiers.{agency}.{event}" {
		t.Errorf("address %v", chm["address"])
	}
	params := regexp.MustCompile(`\{(\w+)\}`).FindAllStringSubmatch(chm["address"].(string), -1)
	var names []string
	for _, p := range params {
		names = append(names, p[1])
	}
	slices.Sort(names)
	if got := keys(chm["parameters"]); !slices.Equal(got, names) {
		t.Errorf("parameters %v, address names %v", got, names)
	}
	var enum []string
	if e, ok := a.at("#/channels/dossierEvents/parameters/event/enum"); ok {
		for _, v := range e.([]any) {
			enum = append(enum, v.(string))
		}
	}
	slices.Sort(enum)
	if !slices.Equal(enum, kinds) {
		t.Errorf("event parameter enum %v,\nwant (domain/event.go) %v", enum, kinds)
	}
	if got := typeNames(domain.EventTypes); !slices.Equal(got, kinds) {
		t.Errorf("events.Kinds %v,\nwant (domain/event.go) %v", got, kinds)
	}
	var late []string
	for _, k := range domain.DeadlineEvents {
		late = append(late, string(k))
	}
	slices.Sort(late)
	if got := keys(chm["messages"]); !slices.Equal(got, kinds) {
		t.Errorf("channel messages %v,\nwant (domain/event.go) %v", got, kinds)
	}
	msgs, _ := a.at("#/components/messages")
	if got := keys(msgs); !slices.Equal(got, kinds) {
		t.Errorf("component messages %v,\nwant (domain/event.go) %v", got, kinds)
	}

	// Every $ref points at something.
	var refs []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && k == "$ref" {
					refs = append(refs, s)
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(a.doc)
	if len(refs) < 50 {
		t.Errorf("only %d $refs", len(refs))
	}
	for _, r := range refs {
		if _, ok := a.at(r); !ok {
			t.Errorf("dangling $ref %s", r)
		}
	}
	// The send operation carries every message; receive the late ones.
	var wantLate []string
	for _, k := range allEventTypes(t) {
		if k.Deadline() {
			wantLate = append(wantLate, string(k))
		}
	}
	slices.Sort(wantLate)
	if !slices.Equal(late, wantLate) {
		t.Errorf("events.LateKinds %v, want (EventType.Late) %v", late, wantLate)
	}
	for op, want := range map[string][]string{"publishDossierEvents": kinds, "receiveLateEvents": late} {
		ms, _ := a.at("#/operations/" + op + "/messages")
		var got []string
		for _, m := range ms.([]any) {
			ref := m.(map[string]any)["$ref"].(string)
			got = append(got, ref[strings.LastIndex(ref, "/")+1:])
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("operation %s messages %v, want %v", op, got, want)
		}
	}

	// The data schemas name exactly the fields of service.EventData; only
	// late events carry overdue_working_hours.
	fields := jsonFields(domain.EventData{})
	for name, want := range map[string][]string{
		"LateData":      fields,
		"LifecycleData": slices.DeleteFunc(slices.Clone(fields), func(f string) bool { return f == "overdue_working_hours" }),
	} {
		props, _ := a.at("#/components/schemas/" + name + "/properties")
		if got := keys(props); !slices.Equal(got, want) {
			t.Errorf("%s properties %v, want (service.EventData) %v", name, got, want)
		}
	}

	// Each message: its payload schema fixes the type, the kind and the
	// data schema; its examples (where given) pass.
	for _, k := range allEventTypes(t) {
		p := "/components/messages/" + string(k)
		m, _ := a.at("#" + p)
		mm := m.(map[string]any)
		if mm["name"] != string(k) || mm["contentType"] != events.ContentType {
			t.Errorf("message %s: name %v contentType %v", k, mm["name"], mm["contentType"])
		}
		a.schema(t, p+"/payload")
		a.schema(t, p+"/headers")
		exs, _ := mm["examples"].([]any)
		for i, ex := range exs {
			exm := ex.(map[string]any)
			pb, _ := json.Marshal(exm["payload"])
			hb, _ := json.Marshal(exm["headers"])
			if err := a.validate(t, p+"/payload", pb); err != nil {
				t.Errorf("message %s example %d: %v", k, i, err)
			}
			if err := a.validate(t, p+"/headers", hb); err != nil {
				t.Errorf("message %s example %d headers: %v", k, i, err)
			}
			if _, err := events.Decode(pb); err != nil {
				t.Errorf("message %s example %d is not a CloudEvent: %v", k, i, err)
			}
		}
	}
}

// lateAndLifecycle makes a record of every event type, late ones with their
// late fields, several agencies, with and without a step.
func everyKind(t testing.TB, firstSeq int64) []service.OutboxRecord {
	due := baseTime.Add(72 * time.Hour)
	var recs []service.OutboxRecord
	seq := firstSeq
	for i, typ := range allEventTypes(t) {
		for j, agency := range []string{"000.00.07.H29", "H29"} {
			dossier := agency + "-260302-" + strconv.Itoa(1+i)
			recs = append(recs, record(t, seq, dossier, typ, agency, func(e *domain.Event) {
				if j == 0 {
					e.Step, e.HolderCode, e.DueAt = "Thẩm định", "000.00.09.H29", &due
				}
				if typ.Deadline() {
					h := float64(i) / 4
					e.OverdueWorkingHours, e.DueAt = &h, &due
				}
			}))
			seq++
		}
	}
	return recs
}

// Every event the relay publishes, of every kind, is a CloudEvent the SDK
// reads and matches its message in the AsyncAPI document: payload schema,
// headers, and the channel's address.
func TestPublishedEventsMatchAsyncAPI(t *testing.T) {
	a := loadAsyncAPI(t)
	conn := eventstest.Conn(t)
	recs := everyKind(t, 1)
	ob := newFakeOutbox(recs...)
	relay := events.NewRelay(conn, ob, events.RelayOptions{Logger: eventstest.Logger()})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := relay.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if p, parked, _ := ob.counts(); p != len(recs) || parked != 0 {
		t.Fatalf("published %d parked %d of %d", p, parked, len(recs))
	}
	msgs := eventstest.Messages(t, conn, len(recs), 20*time.Second)
	seen := map[string]int{}
	for _, m := range msgs {
		ev := cloudevents.NewEvent()
		if err := ev.UnmarshalJSON(m.Data()); err != nil {
			t.Fatalf("SDK cannot parse %s: %v", m.Data(), err)
		}
		if err := ev.Validate(); err != nil {
			t.Fatalf("%s: %v", m.Data(), err)
		}
		kind := strings.TrimPrefix(ev.Type(), events.TypePrefix)
		seen[kind]++
		subject := strings.TrimPrefix(m.Subject(), conn.SubjectPrefix())
		parts := strings.Split(subject, ".")
		if len(parts) != 3 || parts[0] != "dossiers" || parts[2] != kind {
			t.Errorf("subject %s does not fit dossiers.{agency}.%s", subject, kind)
		}
		var data domain.EventData
		if err := ev.DataAs(&data); err != nil {
			t.Fatal(err)
		}
		if parts[1] != domain.SubjectToken(data.AgencyCode) && parts[1] != domain.SubjectToken(data.HolderCode) {
			t.Errorf("subject %s: agency token %s, data names %s (holder %s)", subject, parts[1], data.AgencyCode, data.HolderCode)
		}
		if got, _ := ev.Extensions()[events.ExtEventKind].(string); got != kind {
			t.Errorf("eventkind %q, type %s", got, ev.Type())
		}
		p := "/components/messages/" + kind
		if _, ok := a.at("#" + p); !ok {
			t.Errorf("kind %s has no message in the AsyncAPI document", kind)
			continue
		}
		if err := a.validate(t, p+"/payload", m.Data()); err != nil {
			t.Errorf("%s event does not match its AsyncAPI message: %v\n%s", kind, err, m.Data())
		}
		hdr, _ := json.Marshal(map[string]string{"Nats-Msg-Id": m.Headers().Get("Nats-Msg-Id"), "Content-Type": m.Headers().Get("Content-Type")})
		if err := a.validate(t, p+"/headers", hdr); err != nil {
			t.Errorf("%s headers: %v", kind, err)
		}
		if m.Headers().Get("Nats-Msg-Id") != ev.ID() {
			t.Errorf("Nats-Msg-Id %s, id %s", m.Headers().Get("Nats-Msg-Id"), ev.ID())
		}
	}
	for _, k := range allEventTypes(t) {
		if seen[string(k)] != 2 {
			t.Errorf("kind %s published %d times, want 2", k, seen[string(k)])
		}
	}
}

// The schemas are strict: what a consumer must not see fails them.
func TestAsyncAPIRejects(t *testing.T) {
	a := loadAsyncAPI(t)
	due := baseTime.Add(time.Hour)
	h := 2.0
	over, _ := events.Encode(record(t, 1, "D-1", domain.EventOverdue, "H29", func(e *domain.Event) { e.DueAt, e.OverdueWorkingHours = &due, &h }))
	recv, _ := events.Encode(record(t, 2, "D-1", domain.EventReceived, "H29", nil))
	if err := a.validate(t, "/components/messages/overdue/payload", over); err != nil {
		t.Fatalf("good overdue event rejected: %v", err)
	}
	if err := a.validate(t, "/components/messages/received/payload", recv); err != nil {
		t.Fatalf("good received event rejected: %v", err)
	}
	edit := func(b []byte, f func(ev, data map[string]any)) []byte {
		var ev map[string]any
		_ = json.Unmarshal(b, &ev)
		f(ev, ev["data"].(map[string]any))
		out, _ := json.Marshal(ev)
		return out
	}
	for name, c := range map[string]struct {
		msg string
		b   []byte
	}{
		"lifecycle with overdue hours": {"received", edit(recv, func(_, d map[string]any) { d["overdue_working_hours"] = 1 })},
		"late without overdue hours":   {"overdue", edit(over, func(_, d map[string]any) { delete(d, "overdue_working_hours") })},
		"late without due_at":          {"overdue", edit(over, func(_, d map[string]any) { delete(d, "due_at") })},
		"personal data":                {"received", edit(recv, func(_, d map[string]any) { d["applicant_name"] = "Nguyễn Văn An" })},
		"unknown attribute":            {"received", edit(recv, func(ev, _ map[string]any) { ev["partitionkey"] = "x" })},
		"wrong type for the message":   {"received", edit(recv, func(ev, _ map[string]any) { ev["type"] = events.TypePrefix + "refused" })},
		"unknown status":               {"received", edit(recv, func(_, d map[string]any) { d["status"] = "lost" })},
		"bad time":                     {"received", edit(recv, func(_, d map[string]any) { d["occurred_at"] = "yesterday" })},
		"no source":                    {"received", edit(recv, func(ev, _ map[string]any) { delete(ev, "source") })},
		"spec version 0.3":             {"received", edit(recv, func(ev, _ map[string]any) { ev["specversion"] = "0.3" })},
	} {
		if err := a.validate(t, "/components/messages/"+c.msg+"/payload", c.b); err == nil {
			t.Errorf("%s: accepted %s", name, c.b)
		}
	}
}
