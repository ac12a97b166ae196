package service

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/motcua/motcua/domain"
)

// ScoreStore reads what the scorecard and the lateness report need beyond
// the roll-ups.
type ScoreStore interface {
	// ScoreSet counts, per lead agency, indicator 2.1's set S of the period
	// [From, To), those of S on time and those of S rated 1 or 2.
	ScoreSet(ctx context.Context, q ScoreSetQuery) (map[string]ScoreSetCounts, error)
	// Payments counts, per lead agency, the dossiers with a payment received
	// in [from, to), and those paid online.
	Payments(ctx context.Context, from, to time.Time, agencies []string) (map[string][2]int64, error)
	// ProcedureTotals counts, per agency, the procedures whose version in
	// force at the instant belongs to it.
	ProcedureTotals(ctx context.Context, at time.Time) (map[string]int64, error)
	// Lateness sums the processing control slip's finished steps of
	// [From, To) per unit or per officer.
	Lateness(ctx context.Context, q LatenessQuery) ([]LatenessRow, error)
}

// ScoreSetQuery selects indicator 2.1's set.
type ScoreSetQuery struct {
	From, To    time.Time
	AgencyCodes []string // lead agencies; nil: all
}

// ScoreSetCounts are one lead agency's counts of S.
type ScoreSetCounts struct{ Set, OnTime, LowRated int64 }

// portalSynced reads indicator 1.4's numerator for the period from the
// national portal sync's state: per lead agency, the dossiers received in
// [from, to) whose record the portal acknowledged (by the period's end). Nil
// when the sync is not configured: 1.4 is then not measured, never guessed.
func (s *Service) portalSynced(ctx context.Context, from, to time.Time) (map[string]int, error) {
	if s.opts.Portal == nil {
		return nil, nil
	}
	return s.opts.Portal.PortalRecordsSynced(ctx, from, to, to)
}

// ScorecardQuery asks for the scorecard.
type ScorecardQuery struct {
	Period, From, To string
	AgencyCode       string
}

// ScorecardRow is one agency's scorecard.
type ScorecardRow struct {
	Code, Name string
	domain.Scorecard
}

// ScorecardReport answers GET /reports/scorecard.
type ScorecardReport struct {
	Period domain.Period
	AsOf   time.Time
	Rows   []ScorecardRow
}

// Scorecard scores each agency of the actor's subtree (or of agency_code's)
// for the period on Decision 766/QĐ-TTg's indicators (docs/reports.md, "The
// scorecard"). Agencies are the dossiers' lead agencies, as in the
// compliance report.
func (s *Service) Scorecard(ctx context.Context, actor domain.Actor, q ScorecardQuery) (ScorecardReport, error) {
	comp, err := s.Compliance(ctx, actor, ComplianceQuery{Period: q.Period, From: q.From, To: q.To, AgencyCode: q.AgencyCode, GroupBy: GroupByAgency})
	if err != nil {
		return ScorecardReport{}, err
	}
	scope, err := s.reportScope(ctx, actor)
	if err != nil {
		return ScorecardReport{}, err
	}
	codes, err := s.agencyFilter(ctx, scope, q.AgencyCode)
	if err != nil {
		return ScorecardReport{}, err
	}
	if codes == nil {
		all, err := s.store.Agencies(ctx)
		if err != nil {
			return ScorecardReport{}, err
		}
		for _, a := range all {
			codes = append(codes, a.Code)
		}
	}
	slices.Sort(codes)
	p := comp.Period
	start, end := p.From.Time(), p.To.AddDays(1).Time()
	if now := s.clock.Now(); end.After(now) {
		end = now
	}
	// The reads below are independent: run at once, each on its own
	// connection, the scorecard takes about the longest of them instead of
	// their sum (docs/benchmarks.md, issue 17).
	var (
		set    map[string]ScoreSetCounts
		paid   map[string][2]int64
		procs  map[string]int64
		synced map[string]int
		names  map[string]string
	)
	if err := concurrently(
		func() (err error) {
			set, err = s.store.ScoreSet(ctx, ScoreSetQuery{From: start, To: end, AgencyCodes: codes})
			return
		},
		func() (err error) { paid, err = s.store.Payments(ctx, start, end, codes); return },
		func() (err error) { procs, err = s.store.ProcedureTotals(ctx, comp.AsOf); return },
		func() (err error) { synced, err = s.portalSynced(ctx, start, end); return },
		func() (err error) { names, err = s.store.Names(ctx, GroupByAgency, codes); return },
	); err != nil {
		return ScorecardReport{}, err
	}
	figs := map[string]domain.Figures{}
	for _, r := range comp.Rows {
		figs[r.Code] = r.Figures
	}
	rep := ScorecardReport{Period: p, AsOf: end, Rows: make([]ScorecardRow, 0, len(codes))}
	for _, c := range codes {
		f, st, pay := figs[c], set[c], paid[c]
		in := domain.ScoreInputs{Set: st.Set, OnTime: st.OnTime, LowRated: st.LowRated,
			Processed: f.Processed, ProcessingMinutes: f.ProcessingMinutes,
			Procedures: procs[c], OnlineProcedures: f.OnlineProcedures, OnlineProceduresUsed: f.OnlineProceduresUsed,
			Received: f.Received, ReceivedOnline: f.ReceivedOnline, Paid: pay[0], PaidOnline: pay[1]}
		in.PortalSynced, in.PortalReason = nil, domain.NotMeasuredPortal
		if synced != nil {
			in.PortalSynced, in.PortalReason = domain.PortalShare(int64(synced[c]), f.Received)
		}
		rep.Rows = append(rep.Rows, ScorecardRow{Code: c, Name: names[c], Scorecard: domain.Score(in)})
	}
	return rep, nil
}

// concurrently runs fns at once and returns the first error in their
// order, after all have returned.
func concurrently(fns ...func() error) error {
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn()
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// Lateness groupings.
const (
	GroupByUnit    = "unit"
	GroupByOfficer = "officer"
)

// LatenessQuery selects the lateness report's rows.
type LatenessQuery struct {
	From, To time.Time
	GroupBy  string
	Units    []string // the units whose steps count; nil: all
}

// LatenessRow is one unit's (or officer's) finished steps.
type LatenessRow struct {
	UnitCode, UnitName   string
	Sub, Name            string // the officer, when grouped by officer
	Steps, Early, OnTime int64
	Late                 int64
	LateMinutes          int64
	DossiersLate         int64
}

// LatenessReport answers GET /reports/lateness.
type LatenessReport struct {
	Period  domain.Period
	GroupBy string
	Rows    []LatenessRow
	Total   LatenessRow
}

// LatenessReportQuery asks for the lateness report.
type LatenessReportQuery struct {
	Period, From, To string
	AgencyCode       string
	GroupBy          string
}

// Lateness sums, from the processing control slip (Circular 03/2025, form
// 6), each finished step of the period per unit that held it (or officer who
// finished it): the steps, their verdicts, the working hours the late ones
// overran, and the dossiers finished late in the period whose first late
// step was that unit's (officer's).
func (s *Service) Lateness(ctx context.Context, actor domain.Actor, q LatenessReportQuery) (LatenessReport, error) {
	scope, err := s.reportScope(ctx, actor)
	if err != nil {
		return LatenessReport{}, err
	}
	p, err := ParseReportPeriod(q.Period, q.From, q.To)
	if err != nil {
		return LatenessReport{}, err
	}
	groupBy := q.GroupBy
	switch groupBy {
	case "":
		groupBy = GroupByUnit
	case GroupByUnit, GroupByOfficer:
	default:
		return LatenessReport{}, fieldError("group_by", "must be unit or officer")
	}
	now := s.clock.Now()
	if domain.DateOf(now).Before(p.From) {
		return LatenessReport{}, fieldError("from", "the period has not begun")
	}
	codes, err := s.agencyFilter(ctx, scope, q.AgencyCode)
	if err != nil {
		return LatenessReport{}, err
	}
	rows, err := s.store.Lateness(ctx, LatenessQuery{From: p.From.Time(), To: p.To.AddDays(1).Time(), GroupBy: groupBy, Units: codes})
	if err != nil {
		return LatenessReport{}, err
	}
	units := make([]string, 0, len(rows))
	for _, r := range rows {
		units = append(units, r.UnitCode)
	}
	names, err := s.store.Names(ctx, GroupByAgency, units)
	if err != nil {
		return LatenessReport{}, err
	}
	rep := LatenessReport{Period: p, GroupBy: groupBy, Rows: rows}
	for i := range rep.Rows {
		r := &rep.Rows[i]
		r.UnitName = names[r.UnitCode]
		t := &rep.Total
		t.Steps += r.Steps
		t.Early += r.Early
		t.OnTime += r.OnTime
		t.Late += r.Late
		t.LateMinutes += r.LateMinutes
		t.DossiersLate += r.DossiersLate
	}
	return rep, nil
}
