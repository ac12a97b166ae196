package store

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm/schema"

	"github.com/motcua/motcua/domain"
)

// insertDossierPG writes a new dossier on PostgreSQL in two statements: the
// dossier row, its steps, overdue spans, history, hand-offs and events in
// one, which also takes the roll-up group's lock, then the roll-ups. An
// intake holds the unit's day counter from NextSequence to its commit, so
// every round trip after it is paid by each intake queued behind it
// (docs/benchmarks.md, "Intake: fewer round trips under the counter").
func (q queries) insertDossierPG(ctx context.Context, d *domain.Dossier, ch domain.Change) error {
	id := q.takeReserved()
	if id == 0 {
		if err := q.ctx(ctx).Raw("SELECT nextval('dossiers_id_seq')").Row().Scan(&id); err != nil {
			return translate(err, "dossier "+d.Code)
		}
	}
	d.ID = id
	var b pgBatch
	if err := addInsert(&b, []dossierRow{toDossierRow(d)}); err != nil {
		return err
	}
	steps := make([]stepRow, 0, len(d.Steps))
	for _, s := range d.Steps {
		steps = append(steps, toStepRow(d, s))
	}
	if err := addInsert(&b, steps); err != nil {
		return err
	}
	_, _, added, err := q.spanChanges(ctx, d, ch, true) // a new dossier has no spans to read
	if err != nil {
		return err
	}
	addSpans(&b, nil, nil, added)
	if rows := historyRows(d, ch); len(rows) > 0 {
		addHistory(&b, rows)
	}
	if rows := handoffRows(d, ch); len(rows) > 0 {
		addHandoffs(&b, rows)
	}
	events, err := outboxRows(ch.Events)
	if err != nil {
		return err
	}
	addOutbox(&b, events)
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

// takeReserved returns the dossier id NextSequence drew, once.
func (q queries) takeReserved() int64 {
	if q.reserved == nil {
		return 0
	}
	id := *q.reserved
	*q.reserved = 0
	return id
}

// insertable is a row type's columns as gorm's Create writes them.
type insertable struct {
	table   string
	columns string
	fields  []*schema.Field
}

var insertables sync.Map // reflect.Type -> *insertable

// insertableOf parses a row type's gorm schema once, so the row type stays
// the one description of its table.
func insertableOf(row any) (*insertable, error) {
	t := reflect.TypeOf(row)
	if v, ok := insertables.Load(t); ok {
		return v.(*insertable), nil
	}
	s, err := schema.Parse(row, &sync.Map{}, schema.NamingStrategy{})
	if err != nil {
		return nil, fmt.Errorf("store: schema of %T: %w", row, err)
	}
	in := &insertable{table: s.Table}
	var cols []string
	for _, f := range s.Fields {
		if f.DBName == "" || !f.Creatable {
			continue
		}
		in.fields = append(in.fields, f)
		cols = append(cols, f.DBName)
	}
	in.columns = strings.Join(cols, ", ")
	insertables.Store(t, in)
	return in, nil
}

// addInsert adds the INSERT of rows to a batch, with every column gorm's
// Create writes: an auto-increment key must be set (the batch returns
// nothing), and zero creation and update times take the current time, as
// gorm gives them.
func addInsert[T any](b *pgBatch, rows []T) error {
	if len(rows) == 0 {
		return nil
	}
	in, err := insertableOf(&rows[0])
	if err != nil {
		return err
	}
	now := time.Now()
	args := make([]any, 0, len(rows)*len(in.fields))
	for i := range rows {
		v := reflect.ValueOf(&rows[i]).Elem()
		for _, f := range in.fields {
			val, zero := f.ValueOf(context.Background(), v)
			switch {
			case zero && f.AutoIncrement:
				return fmt.Errorf("store: %s row without its %s", in.table, f.DBName)
			case zero && (f.AutoCreateTime > 0 || f.AutoUpdateTime > 0) && f.FieldType == reflect.TypeOf(time.Time{}):
				val = ts(now)
			}
			args = append(args, val)
		}
	}
	b.add("INSERT INTO "+in.table+" ("+in.columns+") VALUES "+marks(len(rows), "("+marks(len(in.fields), "?")+")"), args...)
	return nil
}
