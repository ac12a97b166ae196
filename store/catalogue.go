package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm/clause"

	"github.com/motcua/motcua/domain"
)

type agencyRow struct {
	Code        string `gorm:"primaryKey"`
	Name        string
	ParentCode  *string
	Path        string
	OfficeHours *string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

func (agencyRow) TableName() string { return "agencies" }

func (r agencyRow) domain() (domain.Agency, error) {
	a := domain.Agency{Code: r.Code, Name: r.Name, Path: r.Path, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if r.ParentCode != nil {
		a.ParentCode = *r.ParentCode
	}
	if r.OfficeHours != nil {
		var m map[string][]string
		if err := json.Unmarshal([]byte(*r.OfficeHours), &m); err != nil {
			return a, fmt.Errorf("store: agency %s office hours: %w", r.Code, err)
		}
		h, err := domain.ParseOfficeHours(m)
		if err != nil {
			return a, fmt.Errorf("store: agency %s office hours: %w", r.Code, err)
		}
		a.Hours = &h
	}
	return a, nil
}

// Agency returns one agency.
func (q queries) Agency(ctx context.Context, code string) (domain.Agency, error) {
	var r agencyRow
	if err := q.ctx(ctx).Where("code = ?", code).Take(&r).Error; err != nil {
		return domain.Agency{}, translate(err, "agency "+code)
	}
	return r.domain()
}

// Agencies lists every agency by code.
func (q queries) Agencies(ctx context.Context) ([]domain.Agency, error) {
	var rows []agencyRow
	if err := q.ctx(ctx).Order("code").Find(&rows).Error; err != nil {
		return nil, translate(err, "agencies")
	}
	out := make([]domain.Agency, 0, len(rows))
	for _, r := range rows {
		a, err := r.domain()
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// SaveAgency upserts an agency, keeping its path and its descendants' paths
// right when its parent changes.
func (q queries) SaveAgency(ctx context.Context, a domain.Agency) error {
	path := "/" + a.Code + "/"
	if a.ParentCode != "" {
		parent, err := q.Agency(ctx, a.ParentCode)
		if err != nil {
			return err
		}
		if parent.Within(a.Code) {
			return &domain.Error{Kind: domain.Invalid, Code: domain.CodeValidationFailed, Detail: "an agency cannot be its own ancestor",
				Fields: []domain.FieldError{{Field: "parent_code", Message: "would make a cycle"}}}
		}
		path = parent.Path + a.Code + "/"
	}
	r := agencyRow{Code: a.Code, Name: a.Name, Path: path, CreatedAt: ts(a.CreatedAt), UpdatedAt: ts(a.UpdatedAt)}
	if a.ParentCode != "" {
		r.ParentCode = &a.ParentCode
	}
	if a.Hours != nil {
		b, _ := json.Marshal(a.Hours.Format())
		s := string(b)
		r.OfficeHours = &s
	}
	var oldPath string
	q.ctx(ctx).Model(&agencyRow{}).Where("code = ?", a.Code).Select("path").Scan(&oldPath)
	err := q.ctx(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "code"}},
		DoUpdates: clause.AssignmentColumns([]string{"name", "parent_code", "path", "office_hours", "updated_at"}),
	}).Create(&r).Error
	if err != nil {
		return translate(err, "agency "+a.Code)
	}
	if err := q.bumpCatalogue(ctx); err != nil {
		return err
	}
	if oldPath != "" && oldPath != path {
		// Move the subtree: every descendant's path starts with the old path.
		err = q.ctx(ctx).Exec("UPDATE agencies SET path = ? || substr(path, ?) WHERE path LIKE ? AND code <> ?",
			path, len(oldPath)+1, likePrefix(oldPath), a.Code).Error
		if err != nil {
			return translate(err, "agency subtree")
		}
	}
	return nil
}

// likePrefix escapes nothing: agency codes hold only letters, digits and dots.
func likePrefix(p string) string { return p + "%" }

type procedureRow struct {
	Code           string `gorm:"primaryKey"`
	CurrentVersion int
	Name           string
	AgencyCode     string
	Online         string
	UpdatedAt      time.Time
}

func (procedureRow) TableName() string { return "procedures" }

type procedureVersionRow struct {
	ProcedureCode   string `gorm:"primaryKey"`
	Version         int    `gorm:"primaryKey"`
	Name            string
	AgencyCode      string
	DurationUnit    string
	DurationAmount  float64
	DurationMinutes int64
	SupplementClock string
	Online          string
	Steps           string
	CreatedAt       time.Time
}

func (procedureVersionRow) TableName() string { return "procedure_versions" }

type stepJSON struct {
	Name       string `json:"name"`
	AgencyCode string `json:"agency_code"`
	Minutes    int64  `json:"minutes"`
}

func (r procedureVersionRow) domain() (domain.Procedure, error) {
	p := domain.Procedure{Code: r.ProcedureCode, Version: r.Version, Name: r.Name, AgencyCode: r.AgencyCode,
		Unit: domain.DurationUnit(r.DurationUnit), Amount: r.DurationAmount, Minutes: r.DurationMinutes,
		SupplementClock: domain.SupplementClock(r.SupplementClock), Online: domain.Online(r.Online), CreatedAt: r.CreatedAt}
	var steps []stepJSON
	if err := json.Unmarshal([]byte(r.Steps), &steps); err != nil {
		return p, fmt.Errorf("store: procedure %s steps: %w", r.ProcedureCode, err)
	}
	for _, s := range steps {
		p.Steps = append(p.Steps, domain.StepDef{Name: s.Name, AgencyCode: s.AgencyCode, Minutes: s.Minutes})
	}
	return p, nil
}

// Procedure returns a version of a procedure, 0 meaning the current one.
func (q queries) Procedure(ctx context.Context, code string, version int) (domain.Procedure, error) {
	var r procedureVersionRow
	db := q.ctx(ctx)
	var err error
	if version == 0 {
		err = db.Raw(`SELECT v.* FROM procedure_versions v JOIN procedures p ON p.code = v.procedure_code AND p.current_version = v.version
			WHERE p.code = ?`, code).Take(&r).Error
	} else {
		err = db.Where("procedure_code = ? AND version = ?", code, version).Take(&r).Error
	}
	if err != nil {
		return domain.Procedure{}, translate(err, "procedure "+code)
	}
	return r.domain()
}

// Procedures lists the current version of every procedure.
func (q queries) Procedures(ctx context.Context) ([]domain.Procedure, error) {
	var rows []procedureVersionRow
	err := q.ctx(ctx).Raw(`SELECT v.* FROM procedure_versions v JOIN procedures p ON p.code = v.procedure_code AND p.current_version = v.version
		ORDER BY v.procedure_code`).Scan(&rows).Error
	if err != nil {
		return nil, translate(err, "procedures")
	}
	out := make([]domain.Procedure, 0, len(rows))
	for _, r := range rows {
		p, err := r.domain()
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// SaveProcedure inserts p as a new version and points the procedure at it.
func (q queries) SaveProcedure(ctx context.Context, p domain.Procedure) error {
	steps := make([]stepJSON, 0, len(p.Steps))
	for _, s := range p.Steps {
		steps = append(steps, stepJSON{Name: s.Name, AgencyCode: s.AgencyCode, Minutes: s.Minutes})
	}
	b, _ := json.Marshal(steps)
	head := procedureRow{Code: p.Code, CurrentVersion: p.Version, Name: p.Name, AgencyCode: p.AgencyCode, Online: string(p.Online), UpdatedAt: ts(p.CreatedAt)}
	err := q.ctx(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "code"}},
		DoUpdates: clause.AssignmentColumns([]string{"current_version", "name", "agency_code", "online", "updated_at"}),
	}).Create(&head).Error
	if err != nil {
		return translate(err, "procedure "+p.Code)
	}
	if err := q.bumpCatalogue(ctx); err != nil {
		return err
	}
	v := procedureVersionRow{ProcedureCode: p.Code, Version: p.Version, Name: p.Name, AgencyCode: p.AgencyCode,
		DurationUnit: string(p.Unit), DurationAmount: p.Amount, DurationMinutes: p.Minutes,
		SupplementClock: string(p.SupplementClock), Online: string(p.Online), Steps: string(b), CreatedAt: ts(p.CreatedAt)}
	return translate(q.ctx(ctx).Create(&v).Error, "procedure version")
}

type calendarDayRow struct {
	Day        string `gorm:"primaryKey"`
	AgencyCode string `gorm:"primaryKey"`
	Kind       string
	Name       string
	CreatedAt  time.Time
}

func (calendarDayRow) TableName() string { return "calendar_days" }

// CalendarDays returns the recorded national days and, for an agency, its own.
func (q queries) CalendarDays(ctx context.Context, agency string) ([]domain.CalendarDay, error) {
	var rows []calendarDayRow
	if err := q.ctx(ctx).Where("agency_code IN ?", []string{"", agency}).Order("day").Find(&rows).Error; err != nil {
		return nil, translate(err, "calendar days")
	}
	out := make([]domain.CalendarDay, 0, len(rows))
	for _, r := range rows {
		d, err := domain.ParseDate(r.Day)
		if err != nil {
			return nil, fmt.Errorf("store: calendar day %q: %w", r.Day, err)
		}
		out = append(out, domain.CalendarDay{Date: d, Kind: domain.DayKind(r.Kind), Name: r.Name, AgencyCode: r.AgencyCode, Source: "recorded"})
	}
	return out, nil
}

// SaveCalendarDay records (or replaces) a day.
func (q queries) SaveCalendarDay(ctx context.Context, d domain.CalendarDay, at time.Time) error {
	r := calendarDayRow{Day: d.Date.String(), AgencyCode: d.AgencyCode, Kind: string(d.Kind), Name: d.Name, CreatedAt: ts(at)}
	err := q.ctx(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "day"}, {Name: "agency_code"}},
		DoUpdates: clause.AssignmentColumns([]string{"kind", "name", "created_at"}),
	}).Create(&r).Error
	if err != nil {
		return translate(err, "calendar day")
	}
	return q.bumpCatalogue(ctx)
}

// DeleteCalendarDay removes a recorded day.
func (q queries) DeleteCalendarDay(ctx context.Context, date domain.Date, agency string) error {
	res := q.ctx(ctx).Where("day = ? AND agency_code = ?", date.String(), agency).Delete(&calendarDayRow{})
	if res.Error != nil {
		return translate(res.Error, "calendar day")
	}
	if res.RowsAffected == 0 {
		return domain.NotFoundf("no day recorded on %s", date)
	}
	return q.bumpCatalogue(ctx)
}

// Subtree returns root and every agency below it.
func (q queries) Subtree(ctx context.Context, root string) ([]string, error) {
	var codes []string
	err := q.ctx(ctx).Model(&agencyRow{}).Where("code = ? OR path LIKE ?", root, "%/"+root+"/%").Order("code").Pluck("code", &codes).Error
	if err != nil {
		return nil, translate(err, "agencies")
	}
	if len(codes) == 0 {
		codes = []string{root}
	}
	return codes, nil
}
