package service

import (
	"context"
	"time"

	"github.com/motcua/motcua/domain"
)

// OutboxRecord is one event waiting in (or published from) the outbox.
type OutboxRecord struct {
	Seq         int64
	ID          string // the CloudEvent id and Nats-Msg-Id
	Subject     string
	Type        domain.EventType
	DossierCode string
	Data        []byte // the CloudEvent data member, JSON
	OccurredAt  time.Time
	Attempts    int
}

// OutboxReader is the relay's view of the outbox.
type OutboxReader interface {
	// PendingEvents returns up to limit unpublished, unparked events in the
	// order they were written.
	PendingEvents(ctx context.Context, limit int) ([]OutboxRecord, error)
	// MarkPublished records that JetStream acknowledged the events.
	MarkPublished(ctx context.Context, seqs []int64, at time.Time) error
	// MarkFailed counts a failed attempt; park sets the event aside with the
	// reason so it no longer blocks the events behind it.
	MarkFailed(ctx context.Context, seq int64, reason string, park bool) error
	// OutboxBacklog returns the number of unpublished events and when the
	// oldest was written.
	OutboxBacklog(ctx context.Context) (count int64, oldest *time.Time, err error)
}
