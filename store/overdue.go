package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
)

// statusList writes statuses as an SQL list of their codes: "(2, 4)".
func statusList(ss []domain.Status) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, s := range ss {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(s.Code()))
	}
	b.WriteByte(')')
	return b.String()
}

// overdueWhere is the one overdue rule in SQL (domain/overdue.go): open
// (domain.OpenStatuses) and overdue_from, the column written from
// domain.Dossier.OverdueFrom or StepOverdueFrom, before the instant given as
// the one parameter.
func overdueWhere(status, overdueFrom string) string {
	return status + " IN " + statusList(domain.OpenStatuses()) + " AND " + overdueFrom + " < ?"
}

// overdueSpanRow is one version of a dossier's (Kind 0) or held step's
// (Kind 1) overdue state, in force from ValidFrom until ValidTo (nil: now).
type overdueSpanRow struct {
	ID             int64 `gorm:"primaryKey"`
	DossierID      int64
	Kind           int
	StepSeq        int
	StepName       string
	ValidFrom      time.Time
	ValidTo        *time.Time
	OverdueFrom    time.Time
	Status         int
	HolderCode     string
	LeadAgencyCode string
	AgencyCode     string
	ProcedureCode  string
}

func (overdueSpanRow) TableName() string { return "overdue_spans" }

// same reports whether two versions say the same thing (the state a command
// left unchanged keeps its row).
func (r overdueSpanRow) same(o overdueSpanRow) bool {
	return r.Kind == o.Kind && r.StepSeq == o.StepSeq && r.OverdueFrom.Equal(o.OverdueFrom) && r.Status == o.Status &&
		r.HolderCode == o.HolderCode
}

// spansOf lists the overdue states of d as it stands, valid from c: the
// dossier's when domain.Dossier.OverdueFrom is set, the held step's when
// StepOverdueFrom is.
func spansOf(d *domain.Dossier, c time.Time) []overdueSpanRow {
	var out []overdueSpanRow
	base := overdueSpanRow{DossierID: d.ID, ValidFrom: ts(c), Status: int(d.Status), LeadAgencyCode: d.LeadAgencyCode,
		AgencyCode: d.AgencyCode, ProcedureCode: d.ProcedureCode}
	if f := d.OverdueFrom(); f != nil {
		r := base
		r.OverdueFrom, r.HolderCode = ts(*f), d.HolderCode
		out = append(out, r)
	}
	if s := d.Current(); s != nil {
		if f := d.StepOverdueFrom(s.Seq); f != nil {
			r := base
			r.Kind, r.StepSeq, r.StepName, r.OverdueFrom, r.HolderCode = 1, s.Seq, s.Name, ts(*f), s.AgencyCode
			out = append(out, r)
		}
	}
	return out
}

// advanceSpans moves the versions in force (open) to those of the dossier
// after a change at c (next): a version that stays is kept; one that ends
// is closed at c when it had become overdue before c, and deleted otherwise
// (it never was overdue); the new ones are added.
func advanceSpans(open, next []overdueSpanRow, c time.Time) (closed, deleted, added []overdueSpanRow) {
	kept := make([]bool, len(next))
	for _, o := range open {
		stays := false
		for i, n := range next {
			if !kept[i] && o.same(n) {
				kept[i], stays = true, true
				break
			}
		}
		switch {
		case stays:
		case o.OverdueFrom.Before(c):
			to := ts(c)
			o.ValidTo = &to
			closed = append(closed, o)
		default:
			deleted = append(deleted, o)
		}
	}
	for i, n := range next {
		if !kept[i] {
			added = append(added, n)
		}
	}
	return closed, deleted, added
}

// changeInstant is when the change took effect: its last history line's
// time; for a dossier taken in with an earlier reception time (an
// administrator's import), that reception time.
func changeInstant(d *domain.Dossier, ch domain.Change) (time.Time, bool) {
	if len(ch.History) == 0 {
		return time.Time{}, false
	}
	c := ch.History[len(ch.History)-1].At
	if ch.History[0].From == 0 && d.ReceivedAt.Before(c) {
		c = d.ReceivedAt
	}
	return c, true
}

// writeSpans keeps overdue_spans in step with the dossier, in the command's
// transaction.
func (q queries) writeSpans(ctx context.Context, d *domain.Dossier, ch domain.Change, isNew bool) error {
	closed, deleted, added, err := q.spanChanges(ctx, d, ch, isNew)
	if err != nil {
		return err
	}
	for _, r := range closed {
		if err := q.ctx(ctx).Model(&overdueSpanRow{}).Where("id = ?", r.ID).Update("valid_to", r.ValidTo).Error; err != nil {
			return translate(err, "overdue span")
		}
	}
	if len(deleted) > 0 {
		ids := make([]int64, 0, len(deleted))
		for _, r := range deleted {
			ids = append(ids, r.ID)
		}
		if err := q.ctx(ctx).Where("id IN ?", ids).Delete(&overdueSpanRow{}).Error; err != nil {
			return translate(err, "overdue spans")
		}
	}
	if len(added) > 0 {
		if err := q.ctx(ctx).Create(&added).Error; err != nil {
			return translate(err, "overdue spans")
		}
	}
	return nil
}

// spanChanges reads the versions in force of an existing dossier and tells
// which to close, delete and add (advanceSpans).
func (q queries) spanChanges(ctx context.Context, d *domain.Dossier, ch domain.Change, isNew bool) (closed, deleted, added []overdueSpanRow, err error) {
	c, ok := changeInstant(d, ch)
	if !ok {
		return nil, nil, nil, nil
	}
	var open []overdueSpanRow
	if seen := q.loaded[d.ID]; !isNew && seen != nil && seen.openSpans != nil {
		open = *seen.openSpans // read ahead with the locked row
	} else if !isNew {
		if err := q.ctx(ctx).Where("dossier_id = ? AND valid_to IS NULL", d.ID).Order("id").Find(&open).Error; err != nil {
			return nil, nil, nil, translate(err, "overdue spans")
		}
	}
	closed, deleted, added = advanceSpans(open, spansOf(d, c), c)
	return closed, deleted, added, nil
}

// addSpans adds the writes of spanChanges to a batch (PostgreSQL).
func addSpans(b *pgBatch, closed, deleted, added []overdueSpanRow) {
	for _, r := range closed {
		b.add("UPDATE overdue_spans SET valid_to = ? WHERE id = ?", r.ValidTo, r.ID)
	}
	if len(deleted) > 0 {
		args := make([]any, 0, len(deleted))
		for _, r := range deleted {
			args = append(args, r.ID)
		}
		b.add("DELETE FROM overdue_spans WHERE id IN ("+marks(len(args), "?")+")", args...)
	}
	if len(added) > 0 {
		args := make([]any, 0, len(added)*12)
		for _, r := range added {
			args = append(args, r.DossierID, r.Kind, r.StepSeq, r.StepName, r.ValidFrom, r.ValidTo, r.OverdueFrom, r.Status,
				r.HolderCode, r.LeadAgencyCode, r.AgencyCode, r.ProcedureCode)
		}
		b.add(`INSERT INTO overdue_spans (dossier_id, kind, step_seq, step_name, valid_from, valid_to, overdue_from, status,
			holder_code, lead_agency_code, agency_code, procedure_code) VALUES `+marks(len(added), "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"), args...)
	}
}

// overdueThen answers the overdue list as it stood at f.AsOf, from
// overdue_spans: the versions in force then whose deadline had passed, with
// the status and holder of that moment and the appointment recorded by then.
func (s *Store) overdueThen(ctx context.Context, f service.OverdueFilter) ([]service.OverdueRow, error) {
	where, args := s.overdueThenWhere(f)
	if s.dialect == Postgres {
		// The GiST index on (validity, deadline) gives the states in force
		// nearest the earliest deadline first, but not in the page's full
		// order (deadline, kind, dossier, step); so the page's last
		// deadline is read that way first, and the page is then the states
		// in force up to it, sorted: a few rows read instead of every state
		// in force at the instant (docs/benchmarks.md, issue 17).
		var last sql.NullTime
		err := s.db.WithContext(ctx).Raw(`SELECT max(overdue_from) FROM (SELECT o.overdue_from FROM overdue_spans o WHERE `+where+
			` ORDER BY o.overdue_from <-> '1970-01-01T00:00:00Z'::timestamptz LIMIT ?) page`, append(args, f.Limit)...).Row().Scan(&last)
		if err != nil {
			return nil, translate(err, "overdue then")
		}
		if !last.Valid {
			return []service.OverdueRow{}, nil
		}
		where += " AND o.overdue_from <= ?"
		args = append(args, last.Time)
	}
	q := `SELECT o.kind, o.dossier_id AS id, o.step_seq AS seq, o.step_name, d.code, o.procedure_code,
		o.lead_agency_code, o.agency_code, o.holder_code, o.status, o.overdue_from AS due_at,
		d.promised_at, d.extension_late, d.extended_at
		FROM overdue_spans o JOIN dossiers d ON d.id = o.dossier_id WHERE ` + where +
		" ORDER BY o.overdue_from, o.kind, o.dossier_id, o.step_seq LIMIT ?"
	args = append(args, f.Limit)
	var rows []overdueRow
	if err := s.db.WithContext(ctx).Raw(q, args...).Scan(&rows).Error; err != nil {
		return nil, translate(err, "overdue then")
	}
	out := make([]service.OverdueRow, 0, len(rows))
	for _, r := range rows {
		if r.ExtendedAt == nil || r.ExtendedAt.After(f.AsOf) {
			// The apology came after the instant asked about.
			r.PromisedAt, r.ExtensionLate = nil, nil
		}
		out = append(out, r.service())
	}
	return out, nil
}

// overdueThenWhere is the condition on overdue_spans (alias o) of the states
// in force at f.AsOf whose deadline had passed then, with the filter and the
// page's cursor.
func (s *Store) overdueThenWhere(f service.OverdueFilter) (string, []any) {
	asOf := ts(f.AsOf)
	var b strings.Builder
	var args []any
	if s.dialect == Postgres {
		b.WriteString("tstzrange(o.valid_from, o.valid_to, '[)') @> ?::timestamptz")
		args = append(args, asOf)
	} else {
		b.WriteString("o.valid_from <= ? AND (o.valid_to IS NULL OR o.valid_to > ?)")
		args = append(args, asOf, asOf)
	}
	b.WriteString(" AND o.overdue_from < ?")
	args = append(args, asOf)
	args = overdueFilterSQL(&b, "o", f, args)
	if c := f.After; c != nil {
		b.WriteString(" AND (o.overdue_from > ? OR (o.overdue_from = ? AND (o.kind > ? OR (o.kind = ? AND (o.dossier_id > ? OR (o.dossier_id = ? AND o.step_seq > ?))))))")
		due := ts(c.DueAt)
		args = append(args, due, due, c.Kind, c.Kind, c.ID, c.ID, c.Seq)
	}
	return b.String(), args
}
