package service

import (
	"context"
	"testing"

	"github.com/motcua/motcua/domain"
)

// fakeCatalogue is a CatalogueTx over a map of agencies.
type fakeCatalogue struct {
	agencies map[string]domain.Agency
	saved    []domain.Agency
}

func (f *fakeCatalogue) Agency(_ context.Context, code string) (domain.Agency, error) {
	if a, ok := f.agencies[code]; ok {
		return a, nil
	}
	return domain.Agency{}, domain.NotFoundf("no agency %q", code)
}

func (f *fakeCatalogue) Procedure(context.Context, string, int) (domain.Procedure, error) {
	return domain.Procedure{}, domain.NotFoundf("none")
}

func (f *fakeCatalogue) SaveAgency(_ context.Context, a domain.Agency) error {
	f.saved = append(f.saved, a)
	return nil
}

func (f *fakeCatalogue) SaveProcedure(context.Context, domain.Procedure) error { return nil }

func TestSaveAgency(t *testing.T) {
	ctx := context.Background()
	created := vn(2026, 1, 5, 8, 0)
	now := vn(2026, 3, 16, 9, 0)
	tx := &fakeCatalogue{agencies: map[string]domain.Agency{fakeDept: {Code: fakeDept, Name: "Sở", CreatedAt: created}}}

	orphan := domain.Agency{Code: fakeUnit, Name: "Trung tâm", ParentCode: "000.00.00.H99"}
	err := saveAgency(ctx, tx, &orphan, now)
	if e, ok := err.(*domain.Error); !ok || e.Kind != domain.Invalid || len(e.Fields) != 1 || e.Fields[0].Field != "parent_code" {
		t.Errorf("an unknown parent: %v, want a field error on parent_code", err)
	}
	if len(tx.saved) != 0 {
		t.Errorf("saved %v with an unknown parent", tx.saved)
	}

	fresh := domain.Agency{Code: fakeUnit, Name: "Trung tâm", ParentCode: fakeDept}
	if err := saveAgency(ctx, tx, &fresh, now); err != nil {
		t.Fatal(err)
	}
	again := domain.Agency{Code: fakeDept, Name: "Sở mới"}
	if err := saveAgency(ctx, tx, &again, now); err != nil {
		t.Fatal(err)
	}
	if len(tx.saved) != 2 || !tx.saved[0].CreatedAt.Equal(now) || !tx.saved[1].CreatedAt.Equal(created) ||
		!tx.saved[1].UpdatedAt.Equal(now) || tx.saved[1].Name != "Sở mới" {
		t.Errorf("saved %+v: want a new agency created now, and the old one keeping its creation time", tx.saved)
	}
}
