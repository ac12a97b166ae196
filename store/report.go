package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
)

var _ service.ReportStore = (*Store)(nil)

// piece is one range of a roll-up table read by a report: rows whose key
// lies in [lo, hi], flagged as counting for the state at the period's start
// (s) and at its end (e).
type piece struct {
	table, key string
	lo, hi     int
	s, e       int
}

// grain is a roll-up table of whole units: calendar or statistical months.
type grain struct {
	table string
	unit  func(d domain.Date) int // the YYYYMM unit a date falls in
	first func(u int) domain.Date
	last  func(u int) domain.Date
}

var (
	calendarMonths = grain{"rollup_monthly", domain.Date.MonthNumber,
		func(u int) domain.Date { return domain.Date{Year: u / 100, Month: time.Month(u % 100), Day: 1} },
		func(u int) domain.Date {
			return domain.Date{Year: u / 100, Month: time.Month(u % 100), Day: 1}.LastOfMonth()
		}}
	statMonths = grain{"rollup_stat_monthly", domain.Date.StatMonthNumber,
		func(u int) domain.Date {
			return domain.Date{Year: u / 100, Month: time.Month(u % 100), Day: 15}.AddMonths(-1)
		},
		func(u int) domain.Date { return domain.Date{Year: u / 100, Month: time.Month(u % 100), Day: 14} }}
	grains = []grain{calendarMonths, statMonths}
)

// beginning is the first date of the grain's first unit, before any data.
func (g grain) beginning() domain.Date {
	return g.first(g.unit(domain.Date{Year: 1, Month: 1, Day: 1}))
}

// cover returns pieces that read the dates [from, to] as whole units of
// the grain, and the days at the edges from the daily table, with how many
// days that is.
func (g grain) cover(from, to domain.Date, s, e int) ([]piece, int) {
	if to.Before(from) {
		return nil, 0
	}
	var out []piece
	days := 0
	addDays := func(a, b domain.Date) {
		out = append(out, piece{table: "rollup_daily", key: "day", lo: a.DayNumber(), hi: b.DayNumber(), s: s, e: e})
		days += int(b.Time().Sub(a.Time()).Hours()/24+0.5) + 1
	}
	uf, ut := g.unit(from), g.unit(to)
	lo, hi := uf, ut
	if from != g.first(uf) {
		if uf == ut {
			addDays(from, to)
			return out, days
		}
		addDays(from, g.last(uf))
		lo = g.unit(g.last(uf).AddDays(1))
	}
	if to != g.last(ut) {
		addDays(g.first(ut), to)
		hi = g.unit(g.first(ut).AddDays(-1))
	}
	if lo <= hi {
		out = append(out, piece{table: g.table, key: "month", lo: lo, hi: hi, s: s, e: e})
	}
	return out, days
}

// flowPieces reads the dates [from, to] in the grain that needs the fewest
// days: calendar months for calendar periods, statistical months for the
// statistical ones.
func flowPieces(from, to domain.Date) []piece {
	var best []piece
	bestDays := -1
	for _, g := range grains {
		ps, days := g.cover(from, to, 0, 0)
		if bestDays < 0 || days < bestDays {
			best, bestDays = ps, days
		}
	}
	return best
}

// statePieces reads every date up to a (flag s, the state at the period's
// start) and up to b (flag e, at its end), b after a, sharing what both
// read, in the grain that needs the fewest days. The sum up to a date is
// either the months before it (prefix) or the AllTime row minus the months
// after it (suffix): whichever reads fewer months, given the months the
// roll-ups span (minMonth..maxMonth, future-dated deadlines included), so a
// recent period reads its own months and the few after, not the whole past.
func statePieces(a, b domain.Date, minMonth, maxMonth int) []piece {
	idx := func(m int) int { return (m/100)*12 + m%100 }
	var best []piece
	bestDays := -1
	for _, g := range grains {
		ps, d1 := g.cover(g.beginning(), a, 1, 1)
		more, d2 := g.cover(a.AddDays(1), b, 0, 1)
		ps = append(ps, more...)
		if idx(maxMonth)-idx(g.unit(a)) < idx(g.unit(b))-idx(minMonth) {
			ps = []piece{{table: "rollup_monthly", key: "month", lo: AllTime, hi: AllTime, s: 1, e: 1}}
			between, d3 := g.cover(a.AddDays(1), b, -1, 0)
			after, d4 := g.cover(b.AddDays(1), g.last(999912), -1, -1)
			ps = append(append(ps, between...), after...)
			d1, d2 = d3, d4
		}
		if bestDays < 0 || d1+d2 < bestDays {
			best, bestDays = ps, d1+d2
		}
	}
	return best
}

var flowCounters = []domain.StatCounter{
	domain.StatReceived, domain.StatReceivedOnline, domain.StatReceivedPostal, domain.StatReceivedByPost,
	domain.StatProcessed, domain.StatProcessedEarly, domain.StatProcessedOnTime, domain.StatProcessedLate,
	domain.StatProcessingMinutes, domain.StatWithdrawn, domain.StatStopped, domain.StatRefusedAfterReception,
	domain.StatReturnedPostal, domain.StatApologies, domain.StatApologiesLate, domain.StatRatings, domain.StatRatingsSatisfied,
}

var stateCounters = []domain.StatCounter{domain.StatOpen, domain.StatPaused, domain.StatOverdue}

// ComplianceCounts sums the roll-ups per lead agency and procedure: the
// flows over the period's dates, then the state counters up to the day
// before it (s) and up to the state day (e) in a second pass that shares
// the rows both read. Two passes, not one: PostgreSQL's cost is one
// aggregate step per row and summed column, so the many flow columns are
// summed over the period's rows only, and the three state columns over the
// months before. A calendar quarter reads whole calendar months, a
// statistical quarter whole statistical months; days only at the edges of a
// from/to period.
func (s *Store) ComplianceCounts(ctx context.Context, q service.CountsQuery) ([]service.GroupCounts, error) {
	if q.AgencyCodes != nil && len(q.AgencyCodes) == 0 {
		return nil, nil
	}
	var flowSums, stateSums []string
	// CAST: PostgreSQL sums bigints into numeric, slow to send and to scan.
	for _, c := range flowCounters {
		flowSums = append(flowSums, "CAST(SUM("+c.Name()+") AS bigint)")
	}
	for _, c := range stateCounters {
		stateSums = append(stateSums, "CAST(SUM(s * "+c.Name()+") AS bigint)", "CAST(SUM(e * "+c.Name()+") AS bigint)")
	}
	var span struct{ Lo, Hi *int }
	if err := s.db.WithContext(ctx).Raw("SELECT MIN(month) AS lo, MAX(month) AS hi FROM rollup_monthly WHERE month < ?", AllTime).
		Scan(&span).Error; err != nil {
		return nil, translate(err, "roll-ups")
	}
	if span.Lo == nil || span.Hi == nil {
		return nil, nil // no roll-ups at all
	}
	flowQ, flowArgs := piecesQuery(flowPieces(q.From, q.To), flowSums, flowCounters, q.AgencyCodes)
	stateQ, stateArgs := piecesQuery(statePieces(q.From.AddDays(-1), q.StateDay, *span.Lo, *span.Hi), stateSums, stateCounters, q.AgencyCodes)
	groups := map[[2]string]*service.GroupCounts{}
	read := func(db *gorm.DB) error { return readCounts(ctx, db, groups, flowQ, flowArgs, stateQ, stateArgs) }
	var err error
	if s.dialect == Postgres {
		// Thousands of groups: enough memory for the hash aggregates to stay
		// in memory, for these statements only.
		err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			if err := tx.Exec("SET LOCAL work_mem = '64MB'").Error; err != nil {
				return err
			}
			return read(tx)
		})
	} else {
		err = read(s.db.WithContext(ctx))
	}
	if err != nil {
		return nil, err
	}
	out := make([]service.GroupCounts, 0, len(groups))
	for _, g := range groups {
		out = append(out, *g)
	}
	return out, nil
}

// piecesQuery sums the columns cols of the roll-up pieces per group (sums
// are the select list's aggregates), for the agencies given (nil: all).
func piecesQuery(pieces []piece, sums []string, cols []domain.StatCounter, agencies []string) (string, []any) {
	var sb strings.Builder
	var args []any
	sb.WriteString("SELECT agency_code, procedure_code, " + strings.Join(sums, ", ") + " FROM (")
	for i, p := range pieces {
		if i > 0 {
			sb.WriteString(" UNION ALL ")
		}
		fmt.Fprintf(&sb, "SELECT agency_code, procedure_code, %d AS s, %d AS e", p.s, p.e)
		for _, c := range cols {
			sb.WriteString(", " + c.Name())
		}
		fmt.Fprintf(&sb, " FROM %s WHERE %s BETWEEN ? AND ?", p.table, p.key)
		args = append(args, p.lo, p.hi)
		if agencies != nil {
			sb.WriteString(" AND agency_code IN ?")
			args = append(args, agencies)
		}
	}
	sb.WriteString(") u GROUP BY agency_code, procedure_code")
	return sb.String(), args
}

// readCounts runs the flow and state queries into groups.
func readCounts(ctx context.Context, db *gorm.DB, groups map[[2]string]*service.GroupCounts, flowQ string, flowArgs []any,
	stateQ string, stateArgs []any) error {
	get := func(a, p string) *service.GroupCounts {
		g := groups[[2]string{a, p}]
		if g == nil {
			g = &service.GroupCounts{AgencyCode: a, ProcedureCode: p}
			groups[[2]string{a, p}] = g
		}
		return g
	}
	err := scanGroups(ctx, db, flowQ, flowArgs, len(flowCounters), func(a, p string, v []int64) {
		g := get(a, p)
		for i, c := range flowCounters {
			g.Flows[c] = v[i]
		}
	})
	if err != nil {
		return err
	}
	return scanGroups(ctx, db, stateQ, stateArgs, 2*len(stateCounters), func(a, p string, v []int64) {
		if slices.ContainsFunc(v, func(x int64) bool { return x != 0 }) {
			g := get(a, p)
			for i, c := range stateCounters {
				g.AtStart[c], g.AtEnd[c] = v[2*i], v[2*i+1]
			}
		}
	})
}

// scanGroups runs a query whose rows are agency, procedure and n sums.
func scanGroups(ctx context.Context, db *gorm.DB, query string, args []any, n int, fn func(a, p string, v []int64)) error {
	rows, err := db.WithContext(ctx).Raw(query, args...).Rows()
	if err != nil {
		return translate(err, "roll-ups")
	}
	defer rows.Close()
	v := make([]int64, n)
	var nv = make([]*int64, n) // SUM over no rows is NULL
	var a, p string
	dst := []any{&a, &p}
	for i := range nv {
		dst = append(dst, &nv[i])
	}
	for rows.Next() {
		if err := rows.Scan(dst...); err != nil {
			return translate(err, "roll-ups")
		}
		for i := range v {
			v[i] = 0
			if nv[i] != nil {
				v[i] = *nv[i]
			}
		}
		fn(a, p, v)
	}
	return translate(rows.Err(), "roll-ups")
}

// ProceduresAt returns the procedures offered online (full or partial) in
// their version in force at the instant, with that version's agency.
func (s *Store) ProceduresAt(ctx context.Context, at time.Time) ([]service.ProcedureAt, error) {
	var rows []struct {
		ProcedureCode string
		AgencyCode    string
		Online        string
	}
	err := s.db.WithContext(ctx).Raw(`SELECT v.procedure_code, v.agency_code, v.online FROM procedure_versions v
		JOIN (SELECT procedure_code, MAX(version) AS version FROM procedure_versions WHERE created_at < ? GROUP BY procedure_code) m
		ON m.procedure_code = v.procedure_code AND m.version = v.version WHERE v.online IN ('full', 'partial')`, ts(at)).Scan(&rows).Error
	if err != nil {
		return nil, translate(err, "procedures")
	}
	out := make([]service.ProcedureAt, 0, len(rows))
	for _, r := range rows {
		out = append(out, service.ProcedureAt{Code: r.ProcedureCode, AgencyCode: r.AgencyCode, Online: domain.Online(r.Online)})
	}
	return out, nil
}

// Names returns the current names of agencies ("agency") or procedures
// ("procedure") by code.
func (s *Store) Names(ctx context.Context, kind string, codes []string) (map[string]string, error) {
	table := "agencies"
	if kind == "procedure" {
		table = "procedures"
	}
	out := make(map[string]string, len(codes))
	for start := 0; start < len(codes); start += 1000 {
		var rows []struct{ Code, Name string }
		part := codes[start:min(start+1000, len(codes))]
		if err := s.db.WithContext(ctx).Raw("SELECT code, name FROM "+table+" WHERE code IN ?", part).Scan(&rows).Error; err != nil {
			return nil, translate(err, table)
		}
		for _, r := range rows {
			out[r.Code] = r.Name
		}
	}
	return out, nil
}

// overdueRow scans one line of the overdue list.
type overdueRow struct {
	Kind           int        // overdue_spans only
	ExtendedAt     *time.Time // overdue_spans only
	ID             int64
	Seq            int
	StepName       string
	Code           string
	ProcedureCode  string
	LeadAgencyCode string
	AgencyCode     string
	HolderCode     string
	Status         int
	DueAt          time.Time
	PromisedAt     *time.Time
	ExtensionLate  *bool
}

func (r overdueRow) service() service.OverdueRow {
	o := service.OverdueRow{Kind: r.Kind, DossierID: r.ID, StepSeq: r.Seq, Step: r.StepName, Code: r.Code,
		ProcedureCode: r.ProcedureCode, LeadAgencyCode: r.LeadAgencyCode, AgencyCode: r.AgencyCode, HolderCode: r.HolderCode,
		Status: domain.Status(r.Status), DueAt: r.DueAt, PromisedAt: r.PromisedAt}
	if r.ExtensionLate != nil {
		o.ApologyLate = *r.ExtensionLate
	}
	return o
}

// Overdue returns up to Limit open dossiers and running steps whose
// deadline is before AsOf, ordered by (deadline, dossier before step, id,
// step): the dossiers come from the partial index dossiers_open_due_idx,
// the running steps from dossier_steps_running_due_idx (migration 00004:
// dossier_steps_open_due_idx also holds the unfinished steps of closed and
// paused dossiers), and the two ordered streams are merged. A page reads
// about Limit entries of each index, however many dossiers there are.
func (s *Store) Overdue(ctx context.Context, f service.OverdueFilter) ([]service.OverdueRow, error) {
	if f.Past {
		return s.overdueThen(ctx, f)
	}
	var ds, ss []overdueRow
	read := func(db *gorm.DB) error {
		dq, dargs := overdueDossiersQuery(f)
		if err := db.Raw(dq, dargs...).Scan(&ds).Error; err != nil {
			return translate(err, "overdue dossiers")
		}
		sq, sargs := overdueStepsQuery(f)
		if err := db.Raw(sq, sargs...).Scan(&ss).Error; err != nil {
			return translate(err, "overdue steps")
		}
		return nil
	}
	var err error
	if s.dialect == Postgres {
		// A page reads a few index entries: parallel workers only cost
		// their start-up.
		err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			if err := tx.Exec("SET LOCAL max_parallel_workers_per_gather = 0").Error; err != nil {
				return err
			}
			return read(tx)
		})
	} else {
		err = read(s.db.WithContext(ctx))
	}
	if err != nil {
		return nil, err
	}
	out := make([]service.OverdueRow, 0, min(f.Limit, len(ds)+len(ss)))
	i, j := 0, 0
	for len(out) < f.Limit && (i < len(ds) || j < len(ss)) {
		var r overdueRow
		kind := 0
		if j >= len(ss) || (i < len(ds) && !ss[j].DueAt.Before(ds[i].DueAt)) {
			r = ds[i]
			i++
		} else {
			r, kind = ss[j], 1
			j++
		}
		r.Kind = kind
		out = append(out, r.service())
	}
	return out, nil
}

// overdueDossiersQuery reads dossiers whose legal deadline passed, by
// (due_at, id), from the page's cursor on.
func overdueDossiersQuery(f service.OverdueFilter) (string, []any) {
	var where strings.Builder
	args := overdueFilterSQL(&where, "d", f, nil)
	q := `SELECT d.id, 0 AS seq, '' AS step_name, d.code, d.procedure_code, d.lead_agency_code, d.agency_code, d.holder_code,
		d.status, d.overdue_from AS due_at, d.promised_at, d.extension_late
		FROM dossiers d WHERE ` + overdueWhere("d.status", "d.overdue_from")
	qargs := []any{ts(f.AsOf)}
	if c := f.After; c != nil {
		if c.Kind == 0 {
			q += " AND (d.overdue_from, d.id) > (?, ?)"
			qargs = append(qargs, ts(c.DueAt), c.ID)
		} else {
			q += " AND d.overdue_from > ?"
			qargs = append(qargs, ts(c.DueAt))
		}
	}
	q += where.String() + " ORDER BY d.overdue_from, d.id LIMIT ?"
	return q, append(append(qargs, args...), f.Limit)
}

// overdueStepsQuery reads running steps whose allotment passed, by
// (due_at, dossier, step), from the page's cursor on.
func overdueStepsQuery(f service.OverdueFilter) (string, []any) {
	var where strings.Builder
	args := overdueFilterSQL(&where, "d", f, nil)
	q := `SELECT d.id, s.seq, s.name AS step_name, d.code, d.procedure_code, d.lead_agency_code, d.agency_code, d.holder_code,
		d.status, s.overdue_from AS due_at, d.promised_at, d.extension_late
		FROM dossier_steps s JOIN dossiers d ON d.id = s.dossier_id
		WHERE ` + overdueWhere("d.status", "s.overdue_from")
	qargs := []any{ts(f.AsOf)}
	if c := f.After; c != nil {
		if c.Kind == 0 {
			q += " AND s.overdue_from >= ?"
			qargs = append(qargs, ts(c.DueAt))
		} else {
			q += " AND (s.overdue_from, s.dossier_id, s.seq) > (?, ?, ?)"
			qargs = append(qargs, ts(c.DueAt), c.ID, c.Seq)
		}
	}
	q += where.String() + " ORDER BY s.overdue_from, s.dossier_id, s.seq LIMIT ?"
	return q, append(append(qargs, args...), f.Limit)
}

// overdueFilterSQL appends the overdue list's agency, procedure and holder
// filters on the table alias (dossiers now, overdue states in the past) to
// b, and their arguments to args.
func overdueFilterSQL(b *strings.Builder, alias string, f service.OverdueFilter, args []any) []any {
	if f.AgencyCodes != nil {
		fmt.Fprintf(b, " AND (%[1]s.lead_agency_code IN ? OR %[1]s.agency_code IN ? OR %[1]s.holder_code IN ?)", alias)
		args = append(args, f.AgencyCodes, f.AgencyCodes, f.AgencyCodes)
	}
	if f.ProcedureCode != "" {
		fmt.Fprintf(b, " AND %s.procedure_code = ?", alias)
		args = append(args, f.ProcedureCode)
	}
	if f.HolderCode != "" {
		fmt.Fprintf(b, " AND %s.holder_code = ?", alias)
		args = append(args, f.HolderCode)
	}
	return args
}
