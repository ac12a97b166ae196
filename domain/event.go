package domain

import "time"

// EventType names a fact published about a dossier (contract.md, Events).
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

// Late-processing events, each published once per deadline.
const (
	EventDueSoon          EventType = "due_soon"
	EventStepOverdue      EventType = "step_overdue"
	EventOverdue          EventType = "overdue"
	EventExtensionOverdue EventType = "extension_overdue"
	EventCompletedLate    EventType = "completed_late"
)

// Late reports whether the event is one of the late-processing events.
func (t EventType) Late() bool {
	switch t {
	case EventDueSoon, EventStepOverdue, EventOverdue, EventExtensionOverdue, EventCompletedLate:
		return true
	}
	return false
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
	OccurredAt time.Time
	// OverdueWorkingHours is set on late events.
	OverdueWorkingHours *float64
	// Key, when set, makes the event id deterministic (late events: one per
	// deadline), so the same fact always carries the same id.
	Key string
}

// Subject is the NATS subject of the event: dossiers.<agency>.<event>, the
// agency's dots written as underscores.
func (e Event) Subject() string {
	return "dossiers." + SubjectToken(e.AgencyCode) + "." + string(e.Type)
}
