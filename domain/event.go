package domain

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"time"
)

// The format of an event, in one place: its kinds, its NATS subject, its
// data member and its id (docs/events.md). The CloudEvents envelope around
// them is written by package events (cloudevent.go), which reads the kinds
// from here.

// EventType names a fact published about a dossier.
type EventType string

// Lifecycle events.
const (
	EventReceived            EventType = "received"
	EventRefused             EventType = "refused"
	EventTransferred         EventType = "transferred"
	EventStepCompleted       EventType = "step_completed"
	EventSupplementRequested EventType = "supplement_requested"
	EventSupplementReceived  EventType = "supplement_received"
	EventPaymentRequested    EventType = "payment_requested"
	EventPaymentReceived     EventType = "payment_received"
	EventExtended            EventType = "extended"
	EventWithdrawn           EventType = "withdrawn"
	EventStopped             EventType = "stopped"
	EventProcessed           EventType = "processed"
	EventReturned            EventType = "returned"
)

// Deadline events, each published once per deadline: one that warns before
// it (due_soon), and the late ones, after it.
const (
	EventDueSoon          EventType = "due_soon"
	EventStepOverdue      EventType = "step_overdue"
	EventOverdue          EventType = "overdue"
	EventExtensionOverdue EventType = "extension_overdue"
	EventCompletedLate    EventType = "completed_late"
)

// LifecycleEvents are the kinds a command on a dossier publishes, in the
// order of a dossier's life.
var LifecycleEvents = []EventType{
	EventReceived, EventRefused, EventTransferred, EventStepCompleted,
	EventSupplementRequested, EventSupplementReceived, EventPaymentRequested,
	EventPaymentReceived, EventExtended, EventWithdrawn, EventStopped,
	EventProcessed, EventReturned,
}

// DeadlineEvents are the kinds published once per deadline, each with the
// working hours past it (0 before it): due_soon, then the late ones.
var DeadlineEvents = []EventType{EventDueSoon, EventStepOverdue, EventOverdue, EventExtensionOverdue, EventCompletedLate}

// EventTypes are all the kinds: the lifecycle events, then the deadline
// events. The AsyncAPI document, the compliance consumer and the command
// line read their lists of kinds from here.
var EventTypes = append(append([]EventType{}, LifecycleEvents...), DeadlineEvents...)

// Deadline reports whether the event is one of the deadline events
// (DeadlineEvents).
func (t EventType) Deadline() bool {
	switch t {
	case EventDueSoon, EventStepOverdue, EventOverdue, EventExtensionOverdue, EventCompletedLate:
		return true
	}
	return false
}

// Late reports whether the event says a deadline passed: a deadline event
// other than due_soon, which comes before its deadline.
func (t EventType) Late() bool {
	return t.Deadline() && t != EventDueSoon
}

// Event is one fact about a dossier, with codes and times only: never
// personal data.
type Event struct {
	Type          EventType
	DossierCode   string
	ProcedureCode string
	AgencyCode    string
	// HolderCode is the unit holding the dossier (for step_overdue, the unit
	// whose step is late).
	HolderCode string
	Step       string
	Status     Status
	DueAt      *time.Time
	// PromisedAt is the new appointment after an apology (form 4), once the
	// dossier has one.
	PromisedAt *time.Time
	// OccurredAt is when the fact happened: for a dossier imported with its
	// reception time, its received event happened then.
	OccurredAt time.Time
	// OverdueWorkingHours is set on deadline events.
	OverdueWorkingHours *float64
	// Key, when set, makes the event id deterministic (deadline events: one
	// per deadline), so the same fact always carries the same id.
	Key string
}

// SubjectRoot begins every event's NATS subject.
const SubjectRoot = "dossiers."

// Subject is the NATS subject of the event: dossiers.<agency>.<event>, the
// agency's dots written as underscores.
func (e Event) Subject() string {
	return SubjectRoot + SubjectToken(e.AgencyCode) + "." + string(e.Type)
}

// EventData is the data member of a dossier event: codes and times only,
// never personal data. Times are RFC 3339 in UTC (a "Z" suffix).
type EventData struct {
	DossierCode         string     `json:"dossier_code"`
	ProcedureCode       string     `json:"procedure_code"`
	AgencyCode          string     `json:"agency_code"`
	HolderCode          string     `json:"holder_code,omitempty"`
	Step                string     `json:"step,omitempty"`
	Status              string     `json:"status"`
	DueAt               *time.Time `json:"due_at,omitempty"`
	PromisedAt          *time.Time `json:"promised_at,omitempty"`
	OccurredAt          time.Time  `json:"occurred_at"`
	OverdueWorkingHours *float64   `json:"overdue_working_hours,omitempty"`
}

// Data is the event's data member, as JSON.
func (e Event) Data() ([]byte, error) {
	return json.Marshal(EventData{
		DossierCode: e.DossierCode, ProcedureCode: e.ProcedureCode, AgencyCode: e.AgencyCode, HolderCode: e.HolderCode, Step: e.Step,
		Status: e.Status.String(), DueAt: utc(e.DueAt), PromisedAt: utc(e.PromisedAt), OccurredAt: e.OccurredAt.UTC(),
		OverdueWorkingHours: e.OverdueWorkingHours,
	})
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// eventNamespace is the name space of keyed events' ids (RFC 9562, version 5).
var eventNamespace = [16]byte{0x6f, 0x1c, 0x3f, 0x5e, 0x2b, 0x7a, 0x4c, 0x8e, 0x9a, 0x51, 0x3d, 0x0f, 0x6c, 0x2e, 0x8b, 0x17}

// ID is the event's CloudEvent id and Nats-Msg-Id (RFC 9562 UUID text). A
// keyed event gets a name-based UUID (version 5) of its key, the same every
// time the same deadline is reported; any other a UUIDv7 of the time it
// occurred (the caller's clock, never the machine's) and random bits.
func (e Event) ID() (string, error) {
	var u [16]byte
	if e.Key != "" {
		h := sha1.New()
		h.Write(eventNamespace[:])
		h.Write([]byte(e.Key))
		copy(u[:], h.Sum(nil))
		u[6] = u[6]&0x0f | 0x50
	} else {
		if _, err := rand.Read(u[6:]); err != nil {
			return "", err
		}
		var ms [8]byte
		binary.BigEndian.PutUint64(ms[:], uint64(e.OccurredAt.UnixMilli()))
		copy(u[:6], ms[2:])
		u[6] = u[6]&0x0f | 0x70
	}
	u[8] = u[8]&0x3f | 0x80
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:]), nil
}
