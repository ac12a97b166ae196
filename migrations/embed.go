// Package migrations holds the versioned SQL schema of both dialects,
// embedded in the binary and applied with goose. The two folders keep the
// same version numbers and end with the same tables, columns and indexes.
package migrations

import "embed"

// Postgres holds the PostgreSQL migrations under postgres/.
//
//go:embed postgres/*.sql
var Postgres embed.FS

// SQLite holds the SQLite migrations under sqlite/.
//
//go:embed sqlite/*.sql
var SQLite embed.FS
