package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/motcua/motcua/service"
)

// TypePrefix comes before the event kind in a CloudEvent's type:
// vn.motcua.dossier.received, vn.motcua.dossier.overdue, ...
const TypePrefix = "vn.motcua.dossier."

// SourcePrefix comes before the agency code in a CloudEvent's source.
const SourcePrefix = "urn:motcua:agency:"

// ContentType is the Content-Type header of a published message.
const ContentType = "application/cloudevents+json"

// Extension attributes, for filtering without reading data.
const (
	ExtAgencyCode    = "agencycode"
	ExtProcedureCode = "procedurecode"
	ExtEventKind     = "eventkind"
)

// Encode turns an outbox record into a CloudEvents 1.0 event in structured
// JSON mode. The record's data must be a JSON object carrying agency_code; it
// becomes the event's data member unchanged (as JSON, not base64).
func Encode(rec service.OutboxRecord) ([]byte, error) {
	if rec.ID == "" {
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
		return nil, fmt.Errorf("data: %w", err)
	}
	if codes.AgencyCode == "" {
		return nil, errors.New("data has no agency_code")
	}

	ev := cloudevents.NewEvent()
	ev.SetID(rec.ID)
	ev.SetType(TypePrefix + string(rec.Type))
	ev.SetSource(SourcePrefix + codes.AgencyCode)
	if rec.DossierCode != "" {
		ev.SetSubject(rec.DossierCode)
	}
	if !rec.OccurredAt.IsZero() {
		ev.SetTime(rec.OccurredAt)
	}
	ev.SetExtension(ExtAgencyCode, codes.AgencyCode)
	if codes.ProcedureCode != "" {
		ev.SetExtension(ExtProcedureCode, codes.ProcedureCode)
	}
	ev.SetExtension(ExtEventKind, string(rec.Type))
	if err := ev.SetData(cloudevents.ApplicationJSON, json.RawMessage(data)); err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	if err := ev.Validate(); err != nil {
		return nil, err
	}
	return json.Marshal(ev)
}

// Decode parses a structured-mode JSON CloudEvent and validates it.
func Decode(b []byte) (cloudevents.Event, error) {
	ev := cloudevents.NewEvent()
	if err := json.Unmarshal(b, &ev); err != nil {
		return ev, err
	}
	if err := ev.Validate(); err != nil {
		return ev, err
	}
	return ev, nil
}
