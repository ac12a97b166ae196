// Package handlers serves the API: the echo router, request and response
// documents, bearer-token and role checks, rate limiting, metrics, and the
// one RFC 9457 problem handler. It imports service and domain, never
// storage or messaging; the pages (package web) mount on its router
// (Config.Pages) and use what shared.go lends them.
package handlers
