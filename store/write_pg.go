package store

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"github.com/motcua/motcua/domain"
)

// insertDossierPG writes a new dossier on PostgreSQL in two statements: the
// dossier row, its steps, overdue spans, history, hand-offs and events in
// one, which also takes the roll-up group's lock, then the roll-ups. An
// intake holds the unit's day counter from NextSequence to its commit, so
// every round trip after it is paid by each intake queued behind it
// (docs/benchmarks.md, "Session 6: round trips on the command paths (the lead)").
func (q queries) insertDossierPG(ctx context.Context, d *domain.Dossier, ch domain.Change) error {
	id := q.takeReserved()
	if id == 0 {
		if err := q.ctx(ctx).Raw("SELECT nextval('dossiers_id_seq')").Row().Scan(&id); err != nil {
			return translate(err, "dossier "+d.Code)
		}
	}
	d.ID = id
	var b pgBatch
	if err := addInsert(&b, q.db, []dossierRow{toDossierRow(d)}); err != nil {
		return err
	}
	steps := make([]stepRow, 0, len(d.Steps))
	for _, s := range d.Steps {
		steps = append(steps, toStepRow(d, s))
	}
	if err := addInsert(&b, q.db, steps); err != nil {
		return err
	}
	_, _, added, err := q.spanChanges(ctx, d, ch, true) // a new dossier has no spans to read
	if err != nil {
		return err
	}
	addSpans(&b, nil, nil, added)
	if _, err := addChange(&b, d, ch); err != nil {
		return err
	}
	var rollups []string
	var rollupArgs [][]any
	if len(ch.History) > 0 {
		var lock bool
		rollups, rollupArgs, lock = rollupWrites(d, ch, nil) // a new dossier has no state row
		if lock {
			b.addSelect("pg_advisory_xact_lock(?)", rollupLockKey(d))
		}
	}
	if err := q.runBatch(ctx, &b, "dossier "+d.Code); err != nil {
		return err
	}
	if len(rollups) > 0 {
		if err := q.runRollups(ctx, d, rollups, rollupArgs, false); err != nil { // locked above
			return err
		}
	}
	return q.applyLateness(ctx, d, ch)
}

// updateDossierPG writes d over the version it was read at on PostgreSQL:
// the new pauses first (they take their ids), then the row, the changed
// steps, the overdue spans' moves, the history, hand-offs and events in one
// statement, then the roll-ups and lateness, which read what it wrote. The
// row's UPDATE goes in that statement too, its version checked by the count
// it returns: a conflict answers an error, which rolls the whole
// transaction back (docs/benchmarks.md, "Fewer statements per transition").
func (q queries) updateDossierPG(ctx context.Context, d *domain.Dossier, readVersion int, ch domain.Change) error {
	if err := q.writePauses(ctx, d); err != nil {
		return err
	}
	closed, deleted, added, err := q.spanChanges(ctx, d, ch, false)
	if err != nil {
		return err
	}
	var b pgBatch
	// updated_at is d's, as on insert, so the row is what the answer
	// (DossierWritten) shows.
	row, err := addUpdate(&b, q.db, toDossierRow(d), dossierFixed, "id = ? AND version = ?", d.ID, readVersion)
	if err != nil {
		return err
	}
	b.addSelect("(SELECT count(*) FROM " + row + ")")
	steps := q.changedSteps(d)
	if len(steps) > 0 {
		addSteps(&b, steps)
	}
	addSpans(&b, closed, deleted, added)
	notifies, err := addChange(&b, d, ch)
	if err != nil {
		return err
	}
	var n int64
	var notified any
	dest := []any{&n}
	if notifies {
		dest = append(dest, &notified)
	}
	if err := q.runBatch(ctx, &b, "dossier "+d.Code, dest...); err != nil {
		return err
	}
	if n == 0 {
		return domain.Conflictf(domain.CodeVersionConflict, "the dossier changed since version %d was read", readVersion)
	}
	q.markSteps(d, steps)
	seen := q.loaded[d.ID]
	if seen != nil {
		seen.openSpans = nil // written: read again if needed
		if seen.hist != nil {
			seen.hist.history = append(seen.hist.history, historyRows(d, ch)...)
			seen.hist.handoffs = append(seen.hist.handoffs, handoffRows(d, ch)...)
		}
	}
	if err := q.applyRollups(ctx, d, ch); err != nil {
		return err
	}
	if seen != nil {
		seen.rollup = nil
	}
	return q.applyLateness(ctx, d, ch)
}

// dossierFixed are the columns of a dossier a command never writes: its
// identity, and the PIN's counters, which have their own statements.
var dossierFixed = []string{"id", "code", "created_at", "pin_failures", "pin_locked_until"}

// addChange adds a change's history lines, hand-offs and events to a batch;
// it reports whether there were events (the closing SELECT then notifies the
// relays).
func addChange(b *pgBatch, d *domain.Dossier, ch domain.Change) (bool, error) {
	if rows := historyRows(d, ch); len(rows) > 0 {
		addHistory(b, rows)
	}
	if rows := handoffRows(d, ch); len(rows) > 0 {
		addHandoffs(b, rows)
	}
	events, err := outboxRows(ch.Events)
	if err != nil {
		return false, err
	}
	addOutbox(b, events)
	return len(events) > 0, nil
}

// nextSequencePiped is NextSequence in a transaction on PostgreSQL, in one
// round trip: the catalogue's shared lock, its version (each statement with
// its own snapshot, the version read once the lock is held, as
// CatalogueVersionShared), then the unit's counter, which also draws the
// dossier's id for insertDossierPG.
func (q queries) nextSequencePiped(ctx context.Context, agency, day string) (int64, error) {
	var last, id int64
	b := &pgx.Batch{}
	q.queueCatalogueShared(b)
	b.Queue(`INSERT INTO dossier_sequences (agency_code, day, last_seq) VALUES ($1, $2, 1)
		ON CONFLICT (agency_code, day) DO UPDATE SET last_seq = dossier_sequences.last_seq + 1
		RETURNING last_seq, nextval('dossiers_id_seq')`, agency, day).QueryRow(func(row pgx.Row) error {
		return row.Scan(&last, &id)
	})
	if err := q.sendBatch(ctx, b, "the dossier's number"); err != nil {
		return 0, translate(err, "dossier sequence")
	}
	q.tx.reserved = id
	return last, nil
}

// takeReserved returns the dossier id NextSequence drew, once.
func (q queries) takeReserved() int64 {
	if q.tx == nil {
		return 0
	}
	id := q.tx.reserved
	q.tx.reserved = 0
	return id
}

// addUpdate adds the UPDATE of the table's row matching where from row,
// every column but those omitted, RETURNING 1; it returns the statement's
// name. The columns are the row type's as gorm maps them (columnsOf).
func addUpdate[T any](b *pgBatch, db *gorm.DB, row T, omit []string, where string, whereArgs ...any) (string, error) {
	c, err := columnsOf[T](db)
	if err != nil {
		return "", err
	}
	v := reflect.ValueOf(&row).Elem()
	var set strings.Builder
	args := make([]any, 0, len(c.fields)+len(whereArgs))
	for i, f := range c.fields {
		if slices.Contains(omit, f.DBName) {
			continue
		}
		if set.Len() > 0 {
			set.WriteString(", ")
		}
		set.WriteString(c.names[i] + " = ?")
		val, _ := f.ValueOf(context.Background(), v)
		args = append(args, val)
	}
	return b.add("UPDATE "+c.table+" SET "+set.String()+" WHERE "+where+" RETURNING 1", append(args, whereArgs...)...), nil
}

// addInsert adds the INSERT of rows to a batch, every column gorm's Create
// writes (columnsOf): an auto-increment key must be set (the batch returns
// nothing), and zero creation and update times take the current time, as
// gorm gives them.
func addInsert[T any](b *pgBatch, db *gorm.DB, rows []T) error {
	if len(rows) == 0 {
		return nil
	}
	c, err := columnsOf[T](db)
	if err != nil {
		return err
	}
	now := time.Now()
	args := make([]any, 0, len(rows)*len(c.fields))
	for i := range rows {
		v := reflect.ValueOf(&rows[i]).Elem()
		for _, f := range c.fields {
			val, zero := f.ValueOf(context.Background(), v)
			switch {
			case zero && f.AutoIncrement:
				return fmt.Errorf("store: %s row without its %s", c.table, f.DBName)
			case zero && (f.AutoCreateTime > 0 || f.AutoUpdateTime > 0) && f.FieldType == reflect.TypeOf(time.Time{}):
				val = ts(now)
			}
			args = append(args, val)
		}
	}
	b.add("INSERT INTO "+c.table+" ("+c.list+") VALUES "+marks(len(rows), "("+marks(len(c.fields), "?")+")"), args...)
	return nil
}
