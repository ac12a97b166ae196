// Package handlers translates HTTP to the service: the echo router, request
// and response documents, bearer-token and role checks, rate limiting,
// metrics, and the one RFC 9457 problem handler. It imports service and
// domain, never storage or messaging.
package handlers
