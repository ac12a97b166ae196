// Package store is the gorm adapter for PostgreSQL and for an embedded SQLite
// file (pure Go, no cgo). It implements service.Store and
// service.OutboxReader (and service.NotificationStore for the notifier), maps
// rows to domain types, and applies the embedded migrations with goose. Times
// are written in UTC to the microsecond.
package store
