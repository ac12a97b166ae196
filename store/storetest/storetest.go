// Package storetest gives tests a fresh, migrated database per dialect:
// SQLite in a temporary folder always, and PostgreSQL when TEST_DATABASE_URL
// is set (with CI=true a missing one fails the run instead of skipping).
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"io"
	"log/slog"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // admin connection to create test databases

	"github.com/motcua/motcua/store"
)

// Each runs fn once per dialect, each time on a fresh migrated database.
func Each(t *testing.T, fn func(t *testing.T, st *store.Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) {
		st := Postgres(t)
		if st == nil {
			t.Skip("TEST_DATABASE_URL is not set: PostgreSQL tests skipped")
		}
		fn(t, st)
	})
}

// Quiet is a logger for tests that discards everything.
func Quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// SQLite opens a migrated SQLite database in t.TempDir().
func SQLite(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Options{DataDir: t.TempDir(), Logger: Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
}

// PostgresURL creates a fresh database on the TEST_DATABASE_URL server,
// dropped at cleanup, and returns its URL; "" when the variable is unset
// outside CI.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("TEST_DATABASE_URL is not set and CI=true: PostgreSQL tests must run")
		}
		return ""
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "motcua_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer a.Close()
		_, _ = a.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// Postgres opens a migrated fresh PostgreSQL database, or nil when
// TEST_DATABASE_URL is unset outside CI.
func Postgres(t testing.TB) *store.Store {
	t.Helper()
	dsn := PostgresURL(t)
	if dsn == "" {
		return nil
	}
	st, err := store.Open(context.Background(), store.Options{DatabaseURL: dsn, MaxConns: 10, Logger: Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
}

// EachPair runs fn once per dialect with two stores opened on one fresh
// migrated database, as two instances of the service would share it.
func EachPair(t *testing.T, fn func(t *testing.T, a, b *store.Store)) {
	t.Helper()
	for _, dialect := range []string{store.SQLite, store.Postgres} {
		t.Run(dialect, func(t *testing.T) {
			a, b := Pair(t, dialect)
			fn(t, a, b)
		})
	}
}

// Pair opens one fresh migrated database of the dialect twice (PostgreSQL
// pools of 10 connections each); it skips the test for PostgreSQL when
// TEST_DATABASE_URL is unset outside CI.
func Pair(t *testing.T, dialect string) (*store.Store, *store.Store) {
	t.Helper()
	opts := store.Options{Logger: Quiet()}
	if dialect == store.SQLite {
		opts.DataDir = t.TempDir()
	} else {
		opts.DatabaseURL, opts.MaxConns = PostgresURL(t), 10
		if opts.DatabaseURL == "" {
			t.Skip("TEST_DATABASE_URL is not set: PostgreSQL tests skipped")
		}
	}
	open := func() *store.Store {
		st, err := store.Open(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	a := open()
	if err := a.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return a, open()
}
