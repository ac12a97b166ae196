// Package service holds the use cases (commands and queries) and declares
// the ports the adapters implement: Store and Tx for storage, Waker for the
// outbox relay, Clock for time. It imports domain and the standard library.
package service
