// Package notify tells applicants about their dossiers by SMS and e-mail, at
// each step that concerns them (docs: README, Notifications).
//
// The Notifier reads the event stream with a durable JetStream consumer
// (dossiers.*.<event> for the events the applicant is told about). For each
// event it reads the dossier's consent and writes one notification row per
// consented channel (unique per event and channel) before anything is sent,
// then acknowledges the message. A dispatcher sends the pending rows: it
// takes an attempt on a row in one statement (so two instances never send
// the same row at once), reads the contact and the facts for the message
// from the database, renders the channel's template (files under
// templates/, one per event and channel) and sends; then it records the
// outcome. A crash between sending and recording leaves the row pending: it
// is sent again with the same ref (the row's id), which the SMS gateway drops
// as a repeat. Failures are retried with back-off for MaxAge (24 hours),
// then the row is marked failed.
//
// Messages carry only what they need: never the PIN, the ID number or the
// address (Decree 13/2023/ND-CP, art. 3: minimal processing). The stored
// recipient is masked, and errors are scrubbed of addresses and numbers
// before they are stored or logged.
//
// notify imports domain, service, events (the stream connection and the
// CloudEvents decoding), nats.go, go-mail and golang.org/x/text; never the
// store or the handlers.
package notify
