package events

import (
	_ "embed" // the AsyncAPI document
)

// AsyncAPI is the AsyncAPI 3.0 document of the events (JSON): the channel
// dossiers.{agency}.{event}, one message per event kind, the CloudEvents
// envelope and the data of lifecycle and late-processing events as JSON
// schemas. The service serves it at /asyncapi.json; the tests check every
// event the relay publishes against it, and its list of kinds against
// domain/event.go.
//
//go:embed asyncapi.json
var AsyncAPI []byte
