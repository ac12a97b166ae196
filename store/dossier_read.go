package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"
	"gorm.io/gorm/schema"

	"github.com/motcua/motcua/domain"
)

// The staff read of one dossier on PostgreSQL, outside a transaction, in one
// round trip: its six queries (the row, steps, pauses, hand-offs, history,
// notifications) go as one pipeline (pgx's batch: each query's Bind and
// Execute, one Sync), the children selected by the dossier's code so that
// none waits for the row's id. Each is the statement the per-table read
// makes, plus an index probe of the code for the four children by id: no
// JSON built by PostgreSQL, which cost more than the round trips it saved
// (docs/benchmarks.md, "Fewer round trips per transition (second session)"
// and "The staff read in one round trip (session 6)").

// pgPool is the pool to pipeline on: set on PostgreSQL outside a
// transaction only (a gorm transaction's connection is not reachable as a
// pgx connection, so a read inside one stays statement by statement).
func (q queries) pgPool() *sql.DB {
	if q.dialect != Postgres {
		return nil
	}
	pool, _ := q.db.Statement.ConnPool.(*sql.DB)
	return pool
}

// txConn is the transaction's own connection on PostgreSQL, for its
// pipelined reads (store.InTx); nil outside a transaction and on SQLite.
func (q queries) txConn() *sql.Conn {
	if q.tx == nil {
		return nil
	}
	return q.tx.conn
}

// sendBatch sends a pipeline in one round trip: on the transaction's
// connection in a transaction, on one of the pool's outside.
func (q queries) sendBatch(ctx context.Context, b *pgx.Batch, what string) error {
	send := func(pc *pgx.Conn) error { return pc.SendBatch(ctx, b).Close() }
	if conn := q.txConn(); conn != nil {
		return onPgx(conn, what, send)
	}
	return withPgx(ctx, q.pgPool(), what, send)
}

// queueCatalogueShared queues CatalogueVersionShared in a transaction: the
// catalogue's shared lock, then its version, read by a statement of its own
// once the lock is held; the transaction keeps the version for
// CatalogueVersionShared to answer.
func (q queries) queueCatalogueShared(b *pgx.Batch) {
	b.Queue(`SELECT pg_advisory_xact_lock_shared($1)`, lockCatalogue)
	b.Queue(`SELECT version FROM cache_versions WHERE name = $1`, catalogueKey).QueryRow(func(row pgx.Row) error {
		var v int64
		if err := row.Scan(&v); err != nil {
			return err
		}
		q.tx.catalogue = v + 1
		return nil
	})
}

// dossierPiped is Dossier in one round trip (above): the same rows,
// converted by the same domain methods.
func (q queries) dossierPiped(ctx context.Context, code string) (*domain.Dossier, error) {
	const byID = `dossier_id = (SELECT id FROM dossiers WHERE code = $1)`
	var (
		rows   []dossierRow
		steps  []stepRow
		pauses []pauseRow
	)
	b := &pgx.Batch{}
	err := errors.Join(
		queueRead(q.db, b, &rows, "dossier "+code, `code = $1`, code),
		queueRead(q.db, b, &steps, "steps", byID+` ORDER BY seq`, code),
		queueRead(q.db, b, &pauses, "pauses", byID+` ORDER BY id`, code),
	)
	if err != nil {
		return nil, err
	}
	hist, err := queueHistory(q.db, b, byID, code, code)
	if err != nil {
		return nil, err
	}
	if err := q.sendBatch(ctx, b, "the dossier's pipelined read"); err != nil {
		return nil, translate(err, "dossier "+code)
	}
	if len(rows) == 0 {
		return nil, translate(gorm.ErrRecordNotFound, "dossier "+code)
	}
	d := rows[0].domain()
	d.Steps = domains[domain.Step](steps)
	d.Pauses = domains[domain.Pause](pauses)
	hist.give(d)
	return d, nil
}

// historyRead is a dossier's hand-offs, history and notifications as read
// (and, read ahead for a command, with the rows the command wrote since).
type historyRead struct {
	handoffs []handoffRow
	history  []historyRow
	notes    []notificationRow
}

// give gives d its hand-offs, history and notifications.
func (h *historyRead) give(d *domain.Dossier) {
	d.Handoffs = domains[domain.Handoff](h.handoffs)
	d.History = domains[domain.HistoryEntry](h.history)
	d.Notifications = notificationsOf(h.notes)
}

// queueHistory queues the reads of a dossier's hand-offs and history (where
// selects them by arg) and notifications (by its code), which fill the
// historyRead returned once the batch has run.
func queueHistory(db *gorm.DB, b *pgx.Batch, where string, arg any, code string) (*historyRead, error) {
	h := &historyRead{}
	err := errors.Join(
		queueRead(db, b, &h.handoffs, "handoffs", where+` ORDER BY id`, arg),
		queueRead(db, b, &h.history, "history", where+` ORDER BY id`, arg),
		queueRead(db, b, &h.notes, "notifications", `dossier_code = $1 ORDER BY id`, code),
	)
	return h, err
}

// historyPiped is loadHistory in a transaction on PostgreSQL: its three
// reads in one round trip (a command's answer, DossierWritten).
func (q queries) historyPiped(ctx context.Context, d *domain.Dossier) error {
	b := &pgx.Batch{}
	hist, err := queueHistory(q.db, b, `dossier_id = $1`, d.ID, d.Code)
	if err != nil {
		return err
	}
	if err := q.sendBatch(ctx, b, "the dossier's history"); err != nil {
		return translate(err, "history")
	}
	hist.give(d)
	return nil
}

// queueRead queues the read of T's rows matching where (its one argument
// is arg) into out; what names them in an error.
func queueRead[T any](db *gorm.DB, b *pgx.Batch, out *[]T, what, where string, arg any) error {
	c, err := columnsOf[T](db)
	if err != nil {
		return err
	}
	b.Queue(`SELECT `+c.list+` FROM `+c.table+` WHERE `+where, arg).Query(func(rs pgx.Rows) error {
		got, err := scanRows[T](rs, c)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		*out = got
		return nil
	})
	return nil
}

// columns are a row type's table and columns as gorm maps them, so that a
// read outside gorm selects and scans the same fields.
type columns struct {
	table  string          // quoted
	list   string          // the quoted columns, comma-separated
	names  []string        // the quoted columns
	index  [][]int         // each column's field in the row type
	fields []*schema.Field // each column's field, for writes (store/write_pg.go)
}

var columnCache sync.Map // reflect.Type of the row: *columns

func columnsOf[T any](db *gorm.DB) (*columns, error) {
	typ := reflect.TypeFor[T]()
	if c, ok := columnCache.Load(typ); ok {
		return c.(*columns), nil
	}
	stmt := &gorm.Statement{DB: db}
	if err := stmt.Parse(new(T)); err != nil {
		return nil, err
	}
	s := stmt.Schema
	c := &columns{table: pgx.Identifier{s.Table}.Sanitize()}
	names := make([]string, 0, len(s.DBNames))
	for _, name := range s.DBNames {
		names = append(names, pgx.Identifier{name}.Sanitize())
		c.index = append(c.index, s.FieldsByDBName[name].StructField.Index)
		c.fields = append(c.fields, s.FieldsByDBName[name])
	}
	c.list, c.names = strings.Join(names, ", "), names
	columnCache.Store(typ, c)
	return c, nil
}

// scanRows reads every row of rs into a T.
func scanRows[T any](rs pgx.Rows, c *columns) ([]T, error) {
	var (
		out  []T
		r    T
		dest = make([]any, len(c.index))
	)
	v := reflect.ValueOf(&r).Elem()
	for i, ix := range c.index {
		dest[i] = v.FieldByIndex(ix).Addr().Interface()
	}
	for rs.Next() {
		// Every field is set (pgx allocates a pointer field anew for each
		// row), so r is not cleared between rows.
		if err := rs.Scan(dest...); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rs.Err()
}

// domains converts rows by their domain method; no rows is nil, as the
// per-table reads append to a nil list.
func domains[D any, R interface{ domain() D }](rows []R) []D {
	if len(rows) == 0 {
		return nil
	}
	out := make([]D, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.domain())
	}
	return out
}

// dossierForUpdatePiped is DossierForUpdate in a transaction on PostgreSQL,
// in one round trip: the row locked (FOR UPDATE), then, each query with its
// own snapshot taken once the lock is held, its steps and pauses, the
// catalogue's shared lock and version (CatalogueVersionShared: a command
// asks for them next), what writing the command reads (its overdue spans in
// force, its roll-up state row), kept until the dossier is written, and its
// hand-offs, history and notifications, which with the rows the command
// writes are its answer (DossierWritten) (docs/benchmarks.md, "Session 6:
// round trips on the command paths (the lead)").
func (q queries) dossierForUpdatePiped(ctx context.Context, code string) (*domain.Dossier, error) {
	const byID = `dossier_id = (SELECT id FROM dossiers WHERE code = $1)`
	var (
		rows   []dossierRow
		steps  []stepRow
		pauses []pauseRow
		spans  []overdueSpanRow
		rollup []rollupOpenRow
	)
	b := &pgx.Batch{}
	err := errors.Join(
		queueRead(q.db, b, &rows, "dossier "+code, `code = $1 FOR UPDATE`, code),
		queueRead(q.db, b, &steps, "steps", byID+` ORDER BY seq`, code),
		queueRead(q.db, b, &pauses, "pauses", byID+` ORDER BY id`, code),
		queueRead(q.db, b, &spans, "overdue spans", byID+` AND valid_to IS NULL ORDER BY id`, code),
		queueRead(q.db, b, &rollup, "roll-up state", byID, code),
	)
	if err != nil {
		return nil, err
	}
	hist, err := queueHistory(q.db, b, byID, code, code)
	if err != nil {
		return nil, err
	}
	q.queueCatalogueShared(b)
	if err := q.sendBatch(ctx, b, "the dossier's locked read"); err != nil {
		return nil, translate(err, "dossier "+code)
	}
	if len(rows) == 0 {
		return nil, translate(gorm.ErrRecordNotFound, "dossier "+code)
	}
	d := rows[0].domain()
	seen := withChildren(d, steps, pauses)
	seen.openSpans, seen.rollup, seen.hist = &spans, &rollup, hist
	q.loaded[d.ID] = seen
	return d, nil
}
