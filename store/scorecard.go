package store

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
)

// chunks calls fn with ids in slices of at most 1,000 (bounded IN lists).
func chunks(ids []int64, fn func(part []int64) error) error {
	for start := 0; start < len(ids); start += 1000 {
		if err := fn(ids[start:min(start+1000, len(ids))]); err != nil {
			return err
		}
	}
	return nil
}

// ScoreSet counts indicator 2.1's set per lead agency (docs/reports.md, "The
// scorecard"): the dossiers received in [From, To) (counter and postal ones
// at intake, online ones when accepted) and those received earlier and
// finished in it, those of them on time, and those rated 1 or 2. A period of
// whole calendar or statistical months reads the scorecard's roll-ups
// (docs/reports.md, "The scorecard's roll-ups"; To is not after now, as the
// service asks); any other period is counted from the dossiers
// (ScoreSetDirect).
func (s *Store) ScoreSet(ctx context.Context, q service.ScoreSetQuery) (map[string]service.ScoreSetCounts, error) {
	table, m1, m2, ok := scoreMonths(q.From, q.To)
	if !ok {
		return s.ScoreSetDirect(ctx, q)
	}
	query := `SELECT agency_code,
		SUM(finished) + SUM(CASE WHEN since >= ? THEN received - finished ELSE 0 END) AS set_size,
		SUM(finished_late) + SUM(CASE WHEN since >= ? THEN late_delta ELSE 0 END) AS late,
		SUM(CASE WHEN since >= ? THEN rated_low ELSE 0 END) AS low_rated
		FROM ` + table + ` WHERE month >= ? AND month <= ?`
	args := []any{m1, m1, m1, m1, m2}
	if q.AgencyCodes != nil {
		query += " AND agency_code IN ?"
		args = append(args, q.AgencyCodes)
	}
	var rows []struct {
		AgencyCode              string
		SetSize, Late, LowRated int64
	}
	if err := s.db.WithContext(ctx).Raw(query+" GROUP BY agency_code", args...).Scan(&rows).Error; err != nil {
		return nil, translate(err, "score roll-ups")
	}
	out := make(map[string]service.ScoreSetCounts, len(rows))
	for _, r := range rows {
		if r.SetSize != 0 || r.LowRated != 0 {
			out[r.AgencyCode] = service.ScoreSetCounts{Set: r.SetSize, OnTime: r.SetSize - r.Late, LowRated: r.LowRated}
		}
	}
	return out, nil
}

// scoreMonths finds the scorecard roll-up table whose months [from, to)
// is made of: calendar months (from and to local midnights on the 1st) or
// statistical months (on the 15th), and the first and last month's keys.
func scoreMonths(from, to time.Time) (table string, m1, m2 int, ok bool) {
	f, t := domain.DateOf(from), domain.DateOf(to)
	if !from.Equal(f.Time()) || !to.Equal(t.Time()) || !f.Before(t) || f.Day != t.Day {
		return "", 0, 0, false
	}
	last := t.AddDays(-1)
	switch f.Day {
	case 1:
		return "score_monthly", f.MonthNumber(), last.MonthNumber(), true
	case 15:
		return "score_stat_monthly", f.StatMonthNumber(), last.StatMonthNumber(), true
	}
	return "", 0, 0, false
}

// scoreRow is what the direct count reads of a dossier.
type scoreRow struct {
	ID             int64
	LeadAgencyCode string
	Channel        string
	ReceivedAt     time.Time
	ProcessedAt    *time.Time
	Verdict        string
	ClosedAt       *time.Time
	Rating         *int
	RatedAt        *time.Time
}

// scoreMember is a dossier of S as the direct count sees it.
type scoreMember struct {
	agency  string
	end     time.Time
	result  bool // processed before To: the verdict decides
	late    bool
	lowRate bool
}

// ScoreSetDirect counts what ScoreSet does straight from the dossiers, their
// acceptances, supplement requests and overdue states, for any period: a
// dossier's end is its finish, or else the supplement request still pending
// at To, or else To; it is on time when it was not overdue at its end by the
// one overdue rule (a result: its verdict; otherwise the overdue states kept
// in overdue_spans) and it had at most one supplement request. An online
// dossier accepted in the period has its counting_from (the start of
// counting after the acceptance) in it or after it. Tests compare it with
// the roll-ups.
func (s *Store) ScoreSetDirect(ctx context.Context, q service.ScoreSetQuery) (map[string]service.ScoreSetCounts, error) {
	rows, err := s.scoreRows(ctx, q)
	if err != nil {
		return nil, err
	}
	accepted, err := s.acceptances(ctx, rows)
	if err != nil {
		return nil, err
	}
	members, ids := scoreMembers(rows, accepted, q.From, q.To)
	if err := s.scoreSupplements(ctx, members, ids, q.To); err != nil {
		return nil, err
	}
	if err := s.scoreOverdue(ctx, members, ids); err != nil {
		return nil, err
	}
	out := map[string]service.ScoreSetCounts{}
	for _, m := range members {
		c := out[m.agency]
		c.Set++
		if !m.late {
			c.OnTime++
		}
		if m.lowRate {
			c.LowRated++
		}
		out[m.agency] = c
	}
	return out, nil
}

// scoreRows reads the dossiers that may be in S.
func (s *Store) scoreRows(ctx context.Context, q service.ScoreSetQuery) ([]scoreRow, error) {
	start, end := ts(q.From), ts(q.To)
	var b strings.Builder
	b.WriteString(`SELECT d.id, d.lead_agency_code, d.channel, d.received_at, d.processed_at, d.verdict, d.closed_at, d.rating, d.rated_at
		FROM dossiers d WHERE d.received_at < ? AND (d.received_at >= ? OR d.processed_at >= ? OR d.closed_at >= ?
		OR (d.channel = 'online' AND d.counting_from >= ?))`)
	args := []any{end, start, start, start, start}
	if q.AgencyCodes != nil {
		b.WriteString(" AND d.lead_agency_code IN ?")
		args = append(args, q.AgencyCodes)
	}
	var rows []scoreRow
	if err := s.db.WithContext(ctx).Raw(b.String(), args...).Scan(&rows).Error; err != nil {
		return nil, translate(err, "score set")
	}
	return rows, nil
}

// acceptances reads when each online dossier among rows was accepted (its
// reception).
func (s *Store) acceptances(ctx context.Context, rows []scoreRow) (map[int64]time.Time, error) {
	var online []int64
	for _, r := range rows {
		if domain.Channel(r.Channel) == domain.ChannelOnline {
			online = append(online, r.ID)
		}
	}
	accepted := map[int64]time.Time{}
	err := chunks(online, func(part []int64) error {
		var hs []struct {
			DossierID int64
			At        time.Time
		}
		if err := s.db.WithContext(ctx).Raw(`SELECT dossier_id, at FROM dossier_history WHERE action = 'accept' AND dossier_id IN ?`, part).
			Scan(&hs).Error; err != nil {
			return translate(err, "acceptances")
		}
		for _, h := range hs {
			if a, ok := accepted[h.DossierID]; !ok || h.At.Before(a) {
				accepted[h.DossierID] = h.At
			}
		}
		return nil
	})
	return accepted, err
}

// scoreMembers keeps the rows in S of [start, end), with their end and,
// for results, their verdict.
func scoreMembers(rows []scoreRow, accepted map[int64]time.Time, start, end time.Time) (map[int64]*scoreMember, []int64) {
	in := func(t time.Time) bool { return !t.Before(start) && t.Before(end) }
	members := map[int64]*scoreMember{}
	var ids []int64
	for _, r := range rows {
		recv := r.ReceivedAt
		if domain.Channel(r.Channel) == domain.ChannelOnline {
			t, ok := accepted[r.ID]
			if !ok {
				continue // never received
			}
			recv = t
		}
		finish := r.ProcessedAt
		if finish == nil {
			finish = r.ClosedAt
		}
		finished := finish != nil && finish.Before(end)
		if !recv.Before(end) || (!in(recv) && !(recv.Before(start) && finished && in(*finish))) {
			continue
		}
		m := &scoreMember{agency: r.LeadAgencyCode, end: end}
		switch {
		case r.ProcessedAt != nil && r.ProcessedAt.Before(end):
			m.end, m.result, m.late = *r.ProcessedAt, true, domain.Verdict(r.Verdict) == domain.VerdictLate
		case finished:
			m.end = *finish
		}
		m.lowRate = r.Rating != nil && *r.Rating <= 2 && r.RatedAt != nil && r.RatedAt.Before(end)
		members[r.ID] = m
		ids = append(ids, r.ID)
	}
	return members, ids
}

// scoreSupplements reads the supplement requests before end: more than one
// makes the dossier late; one still pending at end ends an unfinished one.
func (s *Store) scoreSupplements(ctx context.Context, members map[int64]*scoreMember, ids []int64, end time.Time) error {
	return chunks(ids, func(part []int64) error {
		var ps []struct {
			DossierID int64
			StartedAt time.Time
			EndedAt   *time.Time
		}
		if err := s.db.WithContext(ctx).Raw(`SELECT dossier_id, started_at, ended_at FROM dossier_pauses
			WHERE kind = 'supplement' AND started_at < ? AND dossier_id IN ? ORDER BY dossier_id, started_at`, ts(end), part).Scan(&ps).Error; err != nil {
			return translate(err, "supplements")
		}
		count := map[int64]int{}
		for _, p := range ps {
			m := members[p.DossierID]
			count[p.DossierID]++
			if count[p.DossierID] > 1 {
				m.late = true
			}
			if !m.result && m.end.Equal(end) && (p.EndedAt == nil || !p.EndedAt.Before(end)) {
				m.end = p.StartedAt
			}
		}
		return nil
	})
}

// scoreOverdue marks late the members that were not results and were
// overdue just before their end, by the overdue states.
func (s *Store) scoreOverdue(ctx context.Context, members map[int64]*scoreMember, ids []int64) error {
	return chunks(ids, func(part []int64) error {
		var spans []struct {
			DossierID   int64
			ValidFrom   time.Time
			ValidTo     *time.Time
			OverdueFrom time.Time
		}
		if err := s.db.WithContext(ctx).Raw(`SELECT dossier_id, valid_from, valid_to, overdue_from FROM overdue_spans
			WHERE kind = 0 AND dossier_id IN ?`, part).Scan(&spans).Error; err != nil {
			return translate(err, "overdue spans")
		}
		for _, sp := range spans {
			m := members[sp.DossierID]
			if m.result {
				continue
			}
			e := m.end
			if sp.ValidFrom.Before(e) && (sp.ValidTo == nil || !sp.ValidTo.Before(e)) && sp.OverdueFrom.Before(e) {
				m.late = true
			}
		}
		return nil
	})
}

// Payments counts per lead agency the dossiers with a payment received in
// [from, to) (receive_payment, whose method is kept on the pause), and those
// paid online.
func (s *Store) Payments(ctx context.Context, from, to time.Time, agencies []string) (map[string][2]int64, error) {
	q := `SELECT d.lead_agency_code AS agency, COUNT(DISTINCT d.id) AS paid,
		COUNT(DISTINCT CASE WHEN p.method = 'online' THEN d.id END) AS online
		FROM dossier_pauses p JOIN dossiers d ON d.id = p.dossier_id
		WHERE p.kind = 'payment' AND p.method <> '' AND p.ended_at >= ? AND p.ended_at < ?`
	args := []any{ts(from), ts(to)}
	if agencies != nil {
		q += " AND d.lead_agency_code IN ?"
		args = append(args, agencies)
	}
	q += " GROUP BY d.lead_agency_code"
	var rows []struct {
		Agency       string
		Paid, Online int64
	}
	if err := s.db.WithContext(ctx).Raw(q, args...).Scan(&rows).Error; err != nil {
		return nil, translate(err, "payments")
	}
	out := make(map[string][2]int64, len(rows))
	for _, r := range rows {
		out[r.Agency] = [2]int64{r.Paid, r.Online}
	}
	return out, nil
}

// ProcedureTotals counts per agency the procedures whose version in force
// at the instant (the last made before it) belongs to that agency.
func (s *Store) ProcedureTotals(ctx context.Context, at time.Time) (map[string]int64, error) {
	var rows []struct {
		AgencyCode string
		N          int64
	}
	err := s.db.WithContext(ctx).Raw(`SELECT v.agency_code, COUNT(*) AS n FROM procedure_versions v
		JOIN (SELECT procedure_code, MAX(version) AS version FROM procedure_versions WHERE created_at < ? GROUP BY procedure_code) m
		ON m.procedure_code = v.procedure_code AND m.version = v.version GROUP BY v.agency_code`, ts(at)).Scan(&rows).Error
	if err != nil {
		return nil, translate(err, "procedures")
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.AgencyCode] = r.N
	}
	return out, nil
}

// LatenessRecount counts what Lateness reads from the roll-ups straight from
// the control slip: the finished steps (hand-offs of a step) of [From, To)
// per unit, or per unit and officer, and the dossiers processed late in it
// per unit (officer) of their first late step. Tests compare the two.
func (s *Store) LatenessRecount(ctx context.Context, q service.LatenessQuery) ([]service.LatenessRow, error) {
	officer := q.GroupBy == service.GroupByOfficer
	keys, group := "h.from_unit AS unit_code, '' AS sub, '' AS name", "h.from_unit"
	if officer {
		keys, group = "h.from_unit AS unit_code, h.actor AS sub, MAX(h.actor_name) AS name", "h.from_unit, h.actor"
	}
	var unitWhere string
	args := []any{ts(q.From), ts(q.To)}
	if q.Units != nil {
		unitWhere = " AND h.from_unit IN ?"
		args = append(args, q.Units)
	}
	var steps []service.LatenessRow
	err := s.db.WithContext(ctx).Raw(`SELECT `+keys+`, COUNT(*) AS steps,
		SUM(CASE WHEN h.verdict = 'early' THEN 1 ELSE 0 END) AS early,
		SUM(CASE WHEN h.verdict = 'on_time' THEN 1 ELSE 0 END) AS on_time,
		SUM(CASE WHEN h.verdict = 'late' THEN 1 ELSE 0 END) AS late,
		SUM(h.overrun_minutes) AS late_minutes
		FROM dossier_handoffs h WHERE h.step_seq > 0 AND h.at >= ? AND h.at < ?`+unitWhere+` GROUP BY `+group, args...).Scan(&steps).Error
	if err != nil {
		return nil, translate(err, "lateness steps")
	}
	var late []struct {
		UnitCode, Sub, Name string
		N                   int64
	}
	err = s.db.WithContext(ctx).Raw(`SELECT `+keys+`, COUNT(*) AS n
		FROM dossiers d JOIN dossier_handoffs h ON h.dossier_id = d.id
		WHERE d.verdict = 'late' AND d.processed_at >= ? AND d.processed_at < ? AND h.step_seq > 0 AND h.verdict = 'late'`+unitWhere+`
		AND NOT EXISTS (SELECT 1 FROM dossier_handoffs h2 WHERE h2.dossier_id = h.dossier_id AND h2.step_seq > 0
			AND h2.verdict = 'late' AND h2.step_seq < h.step_seq)
		GROUP BY `+group, args...).Scan(&late).Error
	if err != nil {
		return nil, translate(err, "lateness dossiers")
	}
	byKey := map[[2]string]int{}
	for i, r := range steps {
		byKey[[2]string{r.UnitCode, r.Sub}] = i
	}
	for _, l := range late {
		k := [2]string{l.UnitCode, l.Sub}
		i, ok := byKey[k]
		if !ok {
			steps = append(steps, service.LatenessRow{UnitCode: l.UnitCode, Sub: l.Sub, Name: l.Name})
			i = len(steps) - 1
			byKey[k] = i
		}
		steps[i].DossiersLate += l.N
	}
	sort.Slice(steps, func(i, j int) bool {
		if steps[i].UnitCode != steps[j].UnitCode {
			return steps[i].UnitCode < steps[j].UnitCode
		}
		return steps[i].Sub < steps[j].Sub
	})
	return steps, nil
}
