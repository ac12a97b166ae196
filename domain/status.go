package domain

import "time"

// Status is where a dossier stands; its numeric value is the code the national
// portal sync uses (1-10).
type Status uint8

// The ten statuses (docs/domain.md, Statuses and actions).
const (
	StatusNew                 Status = 1
	StatusReceived            Status = 2
	StatusRefused             Status = 3
	StatusProcessing          Status = 4
	StatusSupplementRequested Status = 5
	StatusAwaitingPayment     Status = 6
	StatusWithdrawn           Status = 7
	StatusStopped             Status = 8
	StatusProcessed           Status = 9
	StatusReturned            Status = 10
)

var statusNames = [...]string{"", "new", "received", "refused", "processing", "supplement_requested",
	"awaiting_payment", "withdrawn", "stopped", "processed", "returned"}

// String returns the stable snake_case name of the status.
func (s Status) String() string {
	if s >= 1 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "unknown"
}

// Code returns the numeric status code of the national portal.
func (s Status) Code() int { return int(s) }

// ParseStatus turns a status name into a Status, rejecting unknown names.
func ParseStatus(name string) (Status, bool) {
	for i := 1; i < len(statusNames); i++ {
		if statusNames[i] == name {
			return Status(i), true
		}
	}
	return 0, false
}

// AllStatuses lists the statuses in code order.
func AllStatuses() []Status {
	out := make([]Status, 0, 10)
	for i := 1; i < len(statusNames); i++ {
		out = append(out, Status(i))
	}
	return out
}

// Final reports whether no action may follow (refused, withdrawn, returned).
func (s Status) Final() bool {
	return s == StatusRefused || s == StatusWithdrawn || s == StatusReturned
}

// Paused reports whether provincial statistics count the status as paused
// (supplement requested, awaiting payment, stopped).
func (s Status) Paused() bool {
	return s == StatusSupplementRequested || s == StatusAwaitingPayment || s == StatusStopped
}

// Open reports whether the dossier was received and has no result yet and was
// not closed: the clock is the agency's concern.
func (s Status) Open() bool {
	for _, o := range openStatuses {
		if s == o {
			return true
		}
	}
	return false
}

// Channel is how a dossier was handed in.
type Channel string

// Channels; their national portal codes are 1, 2 and 3.
const (
	ChannelCounter Channel = "counter"
	ChannelOnline  Channel = "online"
	ChannelPostal  Channel = "postal"
)

// ParseChannel rejects unknown channels.
func ParseChannel(s string) (Channel, bool) {
	switch Channel(s) {
	case ChannelCounter, ChannelOnline, ChannelPostal:
		return Channel(s), true
	}
	return "", false
}

// Delivery is how the result goes back to the applicant.
type Delivery string

// Deliveries.
const (
	DeliveryCounter Delivery = "counter"
	DeliveryPostal  Delivery = "postal"
	DeliveryOnline  Delivery = "online"
)

// ParseDelivery rejects unknown delivery methods.
func ParseDelivery(s string) (Delivery, bool) {
	switch Delivery(s) {
	case DeliveryCounter, DeliveryPostal, DeliveryOnline:
		return Delivery(s), true
	}
	return "", false
}

// Verdict judges a finish against a deadline.
type Verdict string

// Verdicts (docs/domain.md, Deadlines, verdicts and apologies).
const (
	VerdictOpen   Verdict = "open"
	VerdictEarly  Verdict = "early"
	VerdictOnTime Verdict = "on_time"
	VerdictLate   Verdict = "late"
)

// Judge gives the verdict of something finished at finished against due:
// early on a day before the deadline's day, on time on that day no later than
// the deadline, late after it (docs/domain.md, Deadlines).
func Judge(finished, due time.Time) Verdict {
	if finished.After(due) {
		return VerdictLate
	}
	if DateOf(finished).Before(DateOf(due)) {
		return VerdictEarly
	}
	return VerdictOnTime
}
