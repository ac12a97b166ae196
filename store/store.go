package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/ncruces/go-sqlite3/gormlite"
	"github.com/pressly/goose/v3"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	_ "github.com/ncruces/go-sqlite3/driver" // the database/sql driver gormlite uses

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/migrations"
	"github.com/motcua/motcua/service"
)

// Dialects.
const (
	Postgres = "postgres"
	SQLite   = "sqlite"
)

// timeFormat is how SQLite keeps times: fixed width in UTC, so text order is
// time order.
const timeFormat = "2006-01-02T15:04:05.000000Z07:00"

// Options say which database to open.
type Options struct {
	// DatabaseURL is a postgres:// URL; empty means SQLite under DataDir.
	DatabaseURL string
	DataDir     string
	// MaxConns caps the pool (default 20 on PostgreSQL, 4 on SQLite).
	MaxConns int
	Logger   *slog.Logger
}

// Store is the database behind the service.
type Store struct {
	queries
	dialect string
	sqlDB   *sql.DB
	log     *slog.Logger
	// migrateDSN opens SQLite for goose without our fixed time format, which
	// goose's own datetime('now') stamps would not decode with.
	migrateDSN string
	// listening is set while ListenOutbox holds its LISTEN (OutboxListening).
	listening atomic.Bool
}

var (
	_ service.Store        = (*Store)(nil)
	_ service.OutboxReader = (*Store)(nil)
)

// Open connects to PostgreSQL or opens (creating) the SQLite file.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	cfg := &gorm.Config{
		TranslateError:         true,
		SkipDefaultTransaction: true,
		PrepareStmt:            false,
		NowFunc:                func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) },
		Logger:                 logger.Discard,
	}
	var (
		dial       gorm.Dialector
		dialect    string
		maxOpen    = opts.MaxConns
		migrateDSN string
	)
	if opts.DatabaseURL != "" {
		dialect = Postgres
		dial = postgres.Open(opts.DatabaseURL)
		if maxOpen == 0 {
			maxOpen = 20
		}
	} else {
		dialect = SQLite
		dir := opts.DataDir
		if dir == "" {
			dir = "data"
		}
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("store: create %s: %w", dir, err)
		}
		path := filepath.Join(dir, "motcua.db")
		dial = gormlite.Open(SQLiteDSN(path) + "&_timefmt=" + url.QueryEscape(timeFormat))
		migrateDSN = SQLiteDSN(path)
		if maxOpen == 0 {
			maxOpen = 4
		}
	}
	db, err := gorm.Open(dial, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", dialect, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	sqlDB.SetMaxOpenConns(maxOpen)
	sqlDB.SetMaxIdleConns(maxOpen)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	s := &Store{queries: queries{db: db, dialect: dialect}, dialect: dialect, sqlDB: sqlDB, log: opts.Logger, migrateDSN: migrateDSN}
	if err := s.Ping(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("store: reach %s: %w", dialect, err)
	}
	return s, nil
}

// SQLiteDSN is the base DSN that held up under concurrent writers (8 writers,
// none failed; without _txlock=immediate three quarters did):
// WAL, a busy timeout, and immediate transactions so a transaction that reads
// first and then writes waits instead of failing.
func SQLiteDSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode()
}

// Dialect is Postgres or SQLite.
func (s *Store) Dialect() string { return s.dialect }

// DB exposes the gorm handle to tests and the seed command.
func (s *Store) DB() *gorm.DB { return s.db }

// Close closes the pool.
func (s *Store) Close() error { return s.sqlDB.Close() }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.sqlDB.PingContext(ctx); err != nil {
		return unavailable(err, "ping")
	}
	return nil
}

// Migrate applies the embedded migrations that are not applied yet.
func (s *Store) Migrate(ctx context.Context) error {
	return s.migrate(ctx, func(p *goose.Provider) ([]*goose.MigrationResult, error) { return p.Up(ctx) })
}

// MigrateDownTo rolls the schema back to version (0: nothing), running each
// migration's Down section: for a rollback after a bad release, and for the
// test that every Down section works.
func (s *Store) MigrateDownTo(ctx context.Context, version int64) error {
	return s.migrate(ctx, func(p *goose.Provider) ([]*goose.MigrationResult, error) { return p.DownTo(ctx, version) })
}

func (s *Store) migrate(ctx context.Context, run func(*goose.Provider) ([]*goose.MigrationResult, error)) error {
	var (
		fsys    fs.FS
		dialect goose.Dialect
		err     error
	)
	if s.dialect == Postgres {
		fsys, err = fs.Sub(migrations.Postgres, "postgres")
		dialect = goose.DialectPostgres
	} else {
		fsys, err = fs.Sub(migrations.SQLite, "sqlite")
		dialect = goose.DialectSQLite3
	}
	if err != nil {
		return err
	}
	db := s.sqlDB
	if s.migrateDSN != "" {
		lite, err := sql.Open("sqlite3", s.migrateDSN)
		if err != nil {
			return err
		}
		defer lite.Close()
		db = lite
	}
	p, err := goose.NewProvider(dialect, db, fsys)
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	res, err := run(p)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	for _, r := range res {
		s.log.Info("migration applied", "version", r.Source.Version, "file", filepath.Base(r.Source.Path),
			"direction", r.Direction, "took", r.Duration)
	}
	return nil
}

// InTx runs fn in one transaction. On PostgreSQL it runs on a connection
// of its own, which the transaction's pipelined reads reach as a pgx
// connection (gorm's transaction does not expose it).
func (s *Store) InTx(ctx context.Context, fn func(tx service.Tx) error) error {
	run := func(g *gorm.DB, conn *sql.Conn) error {
		return fn(&tx{queries{db: g, dialect: s.dialect, loaded: map[int64]*asLoaded{}, tx: &txState{conn: conn}}})
	}
	var err error
	if s.dialect == Postgres {
		err = s.db.WithContext(ctx).Connection(func(c *gorm.DB) error {
			conn, _ := c.Statement.ConnPool.(*sql.Conn)
			return c.Transaction(func(g *gorm.DB) error { return run(g, conn) })
		})
	} else {
		err = s.db.WithContext(ctx).Transaction(func(g *gorm.DB) error { return run(g, nil) })
	}
	if err != nil && domain.KindOf(err) == domain.Internal && Unavailable(err) {
		return unavailable(err, "transaction")
	}
	return err
}

// tx is one transaction's view of the store.
type tx struct{ queries }

var _ service.Tx = (*tx)(nil)

// queries are the statements shared by the store and a transaction.
type queries struct {
	db      *gorm.DB
	dialect string
	loaded  map[int64]*asLoaded // in a transaction: the children as read (store/dossier.go)
	tx      *txState            // in a transaction: what it holds (nil outside one)
}

// txState is what a transaction holds besides its rows.
type txState struct {
	// conn is the transaction's connection on PostgreSQL, for the reads it
	// pipelines (store/dossier_read.go); nil on SQLite.
	conn *sql.Conn
	// reserved is the dossier id drawn with the unit's counter for the next
	// InsertDossier (0: none), on PostgreSQL.
	reserved int64
	// catalogue is 1 + the catalogue's version once read under its shared
	// lock (CatalogueVersionShared), 0 before.
	catalogue int64
}

func (q queries) ctx(ctx context.Context) *gorm.DB { return q.db.WithContext(ctx) }

// errUnavailable is the domain side of a database that cannot be reached.
var errUnavailable = &domain.Error{Kind: domain.Unavailable, Code: "unavailable",
	Detail: "the database cannot be reached at the moment; try again shortly"}

// Unavailable reports whether err means the database cannot be reached now
// (rather than that the statement was wrong): the pool is closed, the
// connection failed or broke, the server is shutting down, starting, in
// recovery or read-only (a standby during a switch-over), or has no
// connection slots left. PostgreSQL's SQLSTATE classes: 08 connection
// exception, 57P01-57P03 operator intervention, 53300, 25006.
func Unavailable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch {
		case strings.HasPrefix(pg.Code, "08"), pg.Code == "57P01", pg.Code == "57P02", pg.Code == "57P03",
			pg.Code == "53300", pg.Code == "25006":
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce), errors.As(err, &ne), errors.Is(err, sql.ErrConnDone), errors.Is(err, driver.ErrBadConn),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET):
		return true
	}
	// database/sql's own "sql: database is closed" is not exported.
	return strings.Contains(err.Error(), "sql: database is closed") || strings.Contains(err.Error(), "conn closed")
}

// unavailable wraps a connection error so that it maps to 503 and keeps its
// cause for the log.
func unavailable(err error, what string) error {
	return fmt.Errorf("store: %s: %w: %w", what, errUnavailable, err)
}

// translate turns driver errors into domain kinds.
func translate(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case domain.KindOf(err) != domain.Internal:
		return err
	case Unavailable(err):
		return unavailable(err, what)
	case errors.Is(err, gorm.ErrRecordNotFound):
		return domain.NotFoundf("no %s", what)
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return &domain.Error{Kind: domain.Conflict, Code: domain.CodeDuplicate, Detail: what + " already exists"}
	case errors.Is(err, gorm.ErrForeignKeyViolated):
		return domain.Invalidf("%s refers to something that does not exist", what)
	}
	return fmt.Errorf("store: %s: %w", what, err)
}

// ts normalises a time for storage: UTC, microseconds.
func ts(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func tsp(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := ts(*t)
	return &v
}
