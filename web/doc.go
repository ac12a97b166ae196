// Package web serves the pages people use (README.md, Pages): the citizen's
// look-up and rating, the receipt, the staff console, the supervisor's
// dashboard, the sign-in (a token or OpenID Connect) and its sessions,
// rendered on the server with html/template from templates and assets
// embedded in the binary. It runs on the same service as the API and
// imports handlers for what both share (problem mapping and its
// Vietnamese, the bearer check, the report handlers), never storage or
// messaging.
package web
