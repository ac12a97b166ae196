// Package events publishes the facts about dossiers to NATS JetStream, and
// reads them back for compliance.
//
// Every fact is first written, in the same database transaction as the change
// it describes, to the outbox (service.OutboxReader). The Relay reads the
// outbox in the order it was written, turns each record into a CloudEvents 1.0
// event in structured JSON mode (Encode), and publishes it to the stream
// (DOSSIERS, subjects dossiers.<agency>.<event>) with the event id as the
// Nats-Msg-Id header, so that JetStream drops a fact published twice.
// Events of different dossiers are pipelined (up to RelayOptions.MaxInFlight
// awaiting acknowledgement); each dossier's events go one after the other,
// each once the one before was acknowledged, so they are stored in order.
// Only what JetStream acknowledged is marked published; anything else stays in
// the outbox for the next pass, so no event is ever lost. An event that can
// never be published (bad subject, data that is not JSON, larger than the
// stream takes) is parked with a reason instead of blocking the ones behind it.
//
// AsyncAPI is the AsyncAPI 3.0 document of the channel and its messages.
// Compliance is the reference consumer: a durable consumer counting the
// deadline events (domain.DeadlineEvents: due_soon and the late ones) per
// agency, procedure and kind, each once.
//
// Connect opens the connection: to an external server when Options.URL is set,
// or to a nats-server with JetStream started in this process otherwise.
//
// events imports service and domain, nats.go and the CloudEvents SDK; never
// the store or the handlers.
package events
