package domain

import (
	"errors"
	"fmt"
)

// Kind classifies an error so the HTTP layer can map it once.
type Kind uint8

// Error kinds. Anything that is not a *Error counts as Internal.
const (
	Internal Kind = iota
	Invalid
	NotFound
	Conflict
	Forbidden
	Unauthorized
	TooMany
	// Unavailable is a dependency (the database) that cannot be reached
	// now: HTTP 503 with Retry-After, so clients and balancers try again.
	Unavailable
)

// FieldError names one bad input field.
type FieldError struct {
	Field   string
	Message string
}

// Error is a rule violation with a stable machine code from the contract
// (validation_failed, not_found, invalid_transition, version_conflict, ...).
type Error struct {
	Kind   Kind
	Code   string
	Detail string
	Fields []FieldError
	// Allowed lists the actions allowed in the current status, for invalid_transition.
	Allowed []string
}

func (e *Error) Error() string {
	if len(e.Fields) > 0 {
		return fmt.Sprintf("%s: %s (%s: %s)", e.Code, e.Detail, e.Fields[0].Field, e.Fields[0].Message)
	}
	return e.Code + ": " + e.Detail
}

// KindOf returns the kind of the first *Error in err's chain, or Internal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// CodeOf returns the code of the first *Error in err's chain, or "".
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// Invalidf reports input that breaks a rule (HTTP 422).
func Invalidf(format string, args ...any) *Error {
	return &Error{Kind: Invalid, Code: "validation_failed", Detail: fmt.Sprintf(format, args...)}
}

// NotFoundf reports a missing thing (HTTP 404).
func NotFoundf(format string, args ...any) *Error {
	return &Error{Kind: NotFound, Code: "not_found", Detail: fmt.Sprintf(format, args...)}
}

// Conflictf reports a conflict with the current state (HTTP 409).
func Conflictf(code, format string, args ...any) *Error {
	return &Error{Kind: Conflict, Code: code, Detail: fmt.Sprintf(format, args...)}
}

// Forbiddenf reports an actor without the right role or agency (HTTP 403).
func Forbiddenf(format string, args ...any) *Error {
	return &Error{Kind: Forbidden, Code: "forbidden", Detail: fmt.Sprintf(format, args...)}
}

// Fields collects field errors and turns them into one validation error.
type Fields []FieldError

// Add records a bad field.
func (f *Fields) Add(field, format string, args ...any) {
	*f = append(*f, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Err returns nil when no field was bad, else a validation_failed error.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Kind: Invalid, Code: "validation_failed", Detail: "Dữ liệu không hợp lệ", Fields: f}
}
