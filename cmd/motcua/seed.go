package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/motcua/motcua/domain"
	seedgen "github.com/motcua/motcua/seed"
	"github.com/motcua/motcua/service"
)

// seed loads data: "demo" is a handful of agencies, procedures and dossiers
// so a newcomer sees something at once; "--dossiers N" a national-scale
// synthetic data set for benchmarks (package seed, seedgen.Run); "rollups"
// rebuilds the report roll-ups from the dossiers' history (after an upgrade
// from a release without them, or to repair them).
func seed(ctx context.Context, cfg Config, log *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) == 0 || (args[0] == "demo" || args[0] == "rollups") && len(args) > 1 {
		return errSeedUsage
	}
	switch args[0] {
	case "demo":
		return seedDemoCmd(ctx, cfg, log, stdout)
	case "rollups":
		return seedRollups(ctx, cfg, log, stdout)
	}
	if !strings.HasPrefix(args[0], "-") {
		return errSeedUsage
	}
	opts, err := seedOptions(cfg, log, args)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	start := time.Now()
	res, err := seedgen.Run(ctx, st, opts)
	if err != nil {
		return err
	}
	printSeeded(stdout, res, time.Since(start))
	return nil
}

var errSeedUsage = errors.New("seed: usage: motcua seed demo | motcua seed --dossiers N [--months 12] [--now RFC3339] [--random-seed 1] | motcua seed rollups")

// seedOptions reads the flags of `motcua seed --dossiers N`; the PINs are
// hashed with the service's key.
func seedOptions(cfg Config, log *slog.Logger, args []string) (seedgen.Options, error) {
	var opts seedgen.Options
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var now string
	fs.IntVar(&opts.Dossiers, "dossiers", 0, "dossiers to generate")
	fs.IntVar(&opts.Months, "months", 12, "months of receptions, ending now")
	fs.StringVar(&now, "now", "", "end of the simulated time (RFC 3339), default the wall clock")
	fs.Uint64Var(&opts.Seed, "random-seed", 1, "seed of the generator")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || opts.Dossiers <= 0 || opts.Months <= 0 || opts.Months > 60 {
		return opts, errSeedUsage
	}
	if now != "" {
		t, err := time.Parse(time.RFC3339, now)
		if err != nil {
			return opts, fmt.Errorf("seed: --now: %w", err)
		}
		opts.Now = t
	}
	opts.Logger = log
	secret, err := pinSecret(cfg)
	if err != nil {
		return opts, fmt.Errorf("PIN_KEY: %w", err)
	}
	opts.PINKey = secret
	return opts, nil
}

// printSeeded says what the seed wrote, how long it took, and a few
// dossiers to look up.
func printSeeded(stdout io.Writer, res seedgen.Result, took time.Duration) {
	fmt.Fprintf(stdout, "seeded %d agencies, %d procedures, %d dossiers received %s to %s (%d steps, %d pauses, %d history lines, %d hand-offs)\n",
		res.Agencies, res.Procedures, res.Dossiers, res.ReceivedFrom.In(domain.Vietnam()).Format("2006-01-02"),
		res.ReceivedTo.In(domain.Vietnam()).Format("2006-01-02 15:04"), res.Steps, res.Pauses, res.History, res.Handoffs)
	fmt.Fprintf(stdout, "open %d, late %d, extended %d, paused at least once %d, returned %d, rated %d; roll-ups: %d daily, %d monthly rows\n",
		res.OpenDossiers, res.Late, res.Extended, res.Supplemented, res.Returned, res.Rated, res.DailyRollups, res.MonthlyRollups)
	fmt.Fprintf(stdout, "took %s: %s simulating and loading (the workers simulated for %s in all), %s for roll-ups, indexes and statistics\n",
		took.Round(time.Millisecond), res.Load.Round(time.Millisecond), res.Generate.Round(time.Millisecond),
		res.Index.Round(time.Millisecond))
	for _, s := range res.Samples {
		fmt.Fprintf(stdout, "  %s  %s  %s\n", s.Code, s.PIN, s.Status)
	}
}

// seedRollups rebuilds the roll-ups from the history (`motcua seed rollups`).
func seedRollups(ctx context.Context, cfg Config, log *slog.Logger, stdout io.Writer) error {
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	start := time.Now()
	if err := st.RebuildRollups(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "roll-ups rebuilt from the history in %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}

// seedDemoCmd loads the demo province through the service (`motcua seed
// demo`). No relay runs here: the events wait in the outbox and the service
// publishes them when it next starts.
func seedDemoCmd(ctx context.Context, cfg Config, log *slog.Logger, stdout io.Writer) error {
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	secret, err := pinSecret(cfg)
	if err != nil {
		return fmt.Errorf("PIN_KEY: %w", err)
	}
	svc := service.New(st, service.SystemClock{}, nil, service.Options{Logger: log, Secret: secret})
	return seedDemo(ctx, svc, stdout)
}

// demoAgencies is a small province: the city, a department with its
// business-registration office, and the public-service centre that receives
// dossiers (open on Saturday mornings).
var demoAgencies = []domain.Agency{
	{Code: "000.00.00.H29", Name: "Ủy ban nhân dân Thành phố Hà Nội"},
	{Code: "000.00.07.H29", Name: "Sở Kế hoạch và Đầu tư", ParentCode: "000.00.00.H29"},
	{Code: "000.07.01.H29", Name: "Phòng Đăng ký kinh doanh", ParentCode: "000.00.07.H29"},
	{Code: "000.00.11.H29", Name: "Sở Tư pháp", ParentCode: "000.00.00.H29"},
	{Code: "000.00.10.H29", Name: "Trung tâm Phục vụ hành chính công", ParentCode: "000.00.00.H29"},
}

var demoProcedures = []domain.Procedure{
	{Code: "1.001612", Name: "Đăng ký thành lập hộ kinh doanh", AgencyCode: "000.00.07.H29",
		Unit: domain.UnitWorkingDays, Amount: 3, SupplementClock: domain.ClockRestart, Online: domain.OnlineFull,
		Steps: []domain.StepDef{
			{Name: "Thẩm định hồ sơ", AgencyCode: "000.07.01.H29", Minutes: 2 * domain.MinutesPerWorkingDay},
			{Name: "Phê duyệt", AgencyCode: "000.00.07.H29", Minutes: domain.MinutesPerWorkingDay},
		}},
	{Code: "2.000635", Name: "Cấp bản sao trích lục hộ tịch", AgencyCode: "000.00.11.H29",
		Unit: domain.UnitWorkingHours, Amount: 4, SupplementClock: domain.ClockPause, Online: domain.OnlinePartial},
	{Code: "1.000948", Name: "Cấp phiếu lý lịch tư pháp", AgencyCode: "000.00.11.H29",
		Unit: domain.UnitWorkingDays, Amount: 10, SupplementClock: domain.ClockPause, Online: domain.OnlineNone},
}

// seedDemo loads the demo province. It is idempotent and never touches
// what someone else created: a demo code that already exists with other
// data stops it before anything is written, naming the code; run again, it
// finds its own agencies, procedures and dossiers (intakes under fixed
// idempotency keys) and adds nothing.
func seedDemo(ctx context.Context, svc *service.Service, stdout io.Writer) error {
	admin := domain.Actor{Sub: "seed", Name: "Seed", Roles: []domain.Role{domain.RoleAdmin}}
	agencies, procedures, err := demoCatalogue()
	if err != nil {
		return err
	}
	haveAgency, haveProcedure, err := demoExisting(ctx, svc, agencies, procedures)
	if err != nil {
		return err
	}
	for _, a := range agencies {
		if haveAgency[a.Code] {
			continue
		}
		if _, err := svc.PutAgency(ctx, admin, a); err != nil {
			return fmt.Errorf("seed agency %s: %w", a.Code, err)
		}
	}
	for _, p := range procedures {
		if haveProcedure[p.Code] {
			continue
		}
		if _, _, err := svc.PutProcedure(ctx, admin, p); err != nil {
			return fmt.Errorf("seed procedure %s: %w", p.Code, err)
		}
	}
	return demoDossiers(ctx, svc, stdout)
}

// demoCatalogue returns the demo's agencies (the centre with its own
// hours) and procedures (with their durations, as stored).
func demoCatalogue() ([]domain.Agency, []domain.Procedure, error) {
	agencies := make([]domain.Agency, len(demoAgencies))
	copy(agencies, demoAgencies)
	for i, a := range agencies {
		if a.Code == "000.00.10.H29" {
			h, err := domain.ParseOfficeHours(map[string][]string{
				"mon": {"07:30-11:30", "13:30-17:00"}, "tue": {"07:30-11:30", "13:30-17:00"}, "wed": {"07:30-11:30", "13:30-17:00"},
				"thu": {"07:30-11:30", "13:30-17:00"}, "fri": {"07:30-11:30", "13:30-17:00"}, "sat": {"07:30-11:30"},
			})
			if err != nil {
				return nil, nil, err
			}
			agencies[i].Hours = &h
		}
	}
	procedures := make([]domain.Procedure, len(demoProcedures))
	copy(procedures, demoProcedures)
	for i, p := range procedures {
		m, err := domain.DurationMinutes(p.Unit, p.Amount)
		if err != nil {
			return nil, nil, err
		}
		procedures[i].Minutes = m
		procedures[i].Normalize() // as stored, for the comparison below
	}
	return agencies, procedures, nil
}

// demoExisting finds what exists already: the demo's own (left as it is)
// or someone else's (refused, naming every such code).
func demoExisting(ctx context.Context, svc *service.Service, agencies []domain.Agency, procedures []domain.Procedure) (map[string]bool, map[string]bool, error) {
	var conflicts []string
	haveAgency := map[string]bool{}
	for _, a := range agencies {
		old, err := svc.Agency(ctx, a.Code)
		switch {
		case domain.KindOf(err) == domain.NotFound:
		case err != nil:
			return nil, nil, err
		case old.Name == a.Name && old.ParentCode == a.ParentCode && sameHours(old.Hours, a.Hours):
			haveAgency[a.Code] = true
		default:
			conflicts = append(conflicts, fmt.Sprintf("agency %s (%q)", a.Code, old.Name))
		}
	}
	haveProcedure := map[string]bool{}
	for _, p := range procedures {
		old, err := svc.Procedure(ctx, p.Code, 0)
		switch {
		case domain.KindOf(err) == domain.NotFound:
		case err != nil:
			return nil, nil, err
		case old.SameTerms(p):
			haveProcedure[p.Code] = true
		default:
			conflicts = append(conflicts, fmt.Sprintf("procedure %s (%q, version %d)", p.Code, old.Name, old.Version))
		}
	}
	if len(conflicts) > 0 {
		return nil, nil, fmt.Errorf("seed demo: nothing loaded: the database already has, with other data, %s; "+
			"the demo never changes what was created otherwise: load it into its own database (e.g. DATA_DIR=./demo)",
			strings.Join(conflicts, ", "))
	}
	return haveAgency, haveProcedure, nil
}

// demoDossiers takes the demo's dossiers in at the centre's counter, under
// fixed idempotency keys, and prints their codes and PINs.
func demoDossiers(ctx context.Context, svc *service.Service, stdout io.Writer) error {
	clerk := domain.Actor{Sub: "clerk-demo", Name: "Cán bộ một cửa", Roles: []domain.Role{domain.RoleClerk}, Agency: "000.00.10.H29"}
	intakes := []service.IntakeCmd{
		{ProcedureCode: "1.001612", Channel: "counter", Delivery: "counter", Documents: []string{"Giấy đề nghị đăng ký hộ kinh doanh", "Bản sao CCCD"},
			Applicant: domain.Applicant{Name: "Nguyễn Văn An", IDNumber: "001090001234", Phone: "0912345678"}},
		{ProcedureCode: "2.000635", Channel: "postal", Delivery: "postal", Documents: []string{"Tờ khai"},
			Applicant: domain.Applicant{Name: "Trần Thị Bình", IDNumber: "001190005678", Address: "12 Hàng Bài, Hoàn Kiếm"}},
		{ProcedureCode: "1.001612", Channel: "online", Delivery: "online", Documents: []string{"Giấy đề nghị (bản điện tử)"},
			Applicant: domain.Applicant{Name: "Lê Văn Cường", IDNumber: "001080009012", Email: "cuong@example.vn"}},
	}
	var lines []string
	replays := 0
	for i, in := range intakes {
		in.IdempotencyKey = fmt.Sprintf("seed-demo-%d", i+1)
		in.RequestHash = in.IdempotencyKey
		res, err := svc.Intake(ctx, clerk, in)
		if err != nil {
			return fmt.Errorf("seed dossier: %w", err)
		}
		if res.Replay {
			replays++
		}
		pin := res.PIN
		if pin == "" {
			pin = "(mã tra cứu đã cấp lại)"
		}
		lines = append(lines, fmt.Sprintf("  %s  %s  %s", res.Dossier.Code, pin, res.Dossier.Status))
	}
	if replays == len(intakes) {
		fmt.Fprintln(stdout, "demo data already loaded, nothing added; dossiers (code, PIN, status):")
	} else {
		fmt.Fprintln(stdout, "demo data loaded; dossiers (code, PIN, status):")
	}
	fmt.Fprintln(stdout, strings.Join(lines, "\n"))
	return nil
}

// sameHours compares two agencies' office hours (nil: the default hours).
func sameHours(a, b *domain.OfficeHours) bool {
	if a == nil || b == nil {
		return a == b
	}
	return fmt.Sprint(a.Format()) == fmt.Sprint(b.Format())
}
