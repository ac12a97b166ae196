package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
)

// seed loads data: "demo" is a handful of agencies, procedures and dossiers
// so a newcomer sees something at once.
func seed(ctx context.Context, cfg Config, log *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "demo" {
		return errors.New("seed: usage: motcua seed demo")
	}
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	// No relay runs here: the events wait in the outbox and the service
	// publishes them when it next starts.
	svc := service.New(st, service.SystemClock{}, nil, service.Options{Logger: log})
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

func seedDemo(ctx context.Context, svc *service.Service, stdout io.Writer) error {
	admin := domain.Actor{Sub: "seed", Name: "Seed", Roles: []domain.Role{domain.RoleAdmin}}
	for _, a := range demoAgencies {
		if a.Code == "000.00.10.H29" {
			h, err := domain.ParseOfficeHours(map[string][]string{
				"mon": {"07:30-11:30", "13:30-17:00"}, "tue": {"07:30-11:30", "13:30-17:00"}, "wed": {"07:30-11:30", "13:30-17:00"},
				"thu": {"07:30-11:30", "13:30-17:00"}, "fri": {"07:30-11:30", "13:30-17:00"}, "sat": {"07:30-11:30"},
			})
			if err != nil {
				return err
			}
			a.Hours = &h
		}
		if _, err := svc.PutAgency(ctx, admin, a); err != nil {
			return fmt.Errorf("seed agency %s: %w", a.Code, err)
		}
	}
	for _, p := range demoProcedures {
		m, err := domain.DurationMinutes(p.Unit, p.Amount)
		if err != nil {
			return err
		}
		p.Minutes = m
		if _, _, err := svc.PutProcedure(ctx, admin, p); err != nil {
			return fmt.Errorf("seed procedure %s: %w", p.Code, err)
		}
	}
	clerk := domain.Actor{Sub: "clerk-demo", Name: "Cán bộ một cửa", Roles: []domain.Role{domain.RoleClerk}, Agency: "000.00.10.H29"}
	intakes := []service.IntakeCmd{
		{ProcedureCode: "1.001612", Channel: "counter", Delivery: "counter", Documents: []string{"Giấy đề nghị đăng ký hộ kinh doanh", "Bản sao CCCD"},
			Applicant: domain.Applicant{Name: "Nguyễn Văn An", IDNumber: "001090001234", Phone: "0912345678"}},
		{ProcedureCode: "2.000635", Channel: "postal", Delivery: "postal", Documents: []string{"Tờ khai"},
			Applicant: domain.Applicant{Name: "Trần Thị Bình", IDNumber: "001190005678", Address: "12 Hàng Bài, Hoàn Kiếm"}},
		{ProcedureCode: "1.001612", Channel: "online", Delivery: "online", Documents: []string{"Giấy đề nghị (bản điện tử)"},
			Applicant: domain.Applicant{Name: "Lê Văn Cường", IDNumber: "001080009012", Email: "cuong@example.vn"}},
	}
	fmt.Fprintln(stdout, "demo data loaded; dossiers (code, PIN, status):")
	for _, in := range intakes {
		res, err := svc.Intake(ctx, clerk, in)
		if err != nil {
			return fmt.Errorf("seed dossier: %w", err)
		}
		fmt.Fprintf(stdout, "  %s  %s  %s\n", res.Dossier.Code, res.PIN, res.Dossier.Status)
	}
	return nil
}
