package service_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

const (
	unit  = "000.00.10.H29"
	proc  = "2.000635"
	dayID = "260316"
)

type stillClock struct{ t time.Time }

func (c stillClock) Now() time.Time { return c.t }

var (
	seqAdmin = domain.Actor{Sub: "admin", Roles: []domain.Role{domain.RoleAdmin}, Agency: unit}
	seqClerk = domain.Actor{Sub: "clerk", Roles: []domain.Role{domain.RoleClerk}, Agency: unit}
	now      = time.Date(2026, 3, 16, 2, 0, 0, 0, time.UTC) // 09:00 in Vietnam, a Monday
)

func catalogue(t *testing.T, svc *service.Service) {
	t.Helper()
	ctx := context.Background()
	if _, err := svc.PutAgency(ctx, seqAdmin, domain.Agency{Code: unit, Name: "Trung tâm Phục vụ hành chính công"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.PutProcedure(ctx, seqAdmin, domain.Procedure{Code: proc, Name: "Cấp bản sao trích lục hộ tịch",
		AgencyCode: unit, Unit: domain.UnitWorkingHours, Amount: 4, Minutes: 240, Online: domain.OnlineNone}); err != nil {
		t.Fatal(err)
	}
}

func intake(svc *service.Service) (string, error) {
	res, err := svc.Intake(context.Background(), seqClerk, service.IntakeCmd{ProcedureCode: proc, Channel: "counter",
		Applicant: domain.Applicant{Name: "Nguyễn Văn An", IDNumber: "001090001234", Phone: "0912345678"},
		Documents: []string{"Giấy đề nghị"}})
	if err != nil {
		return "", err
	}
	return res.Dossier.Code, nil
}

func code(n int) string { return fmt.Sprintf("%s-%s-%04d", unit, dayID, n) }

// Two instances on one database take turns: the numbers run 1, 2, 3, ...
// whichever instance takes the dossier in, with none skipped.
func TestNumbersFollowReceptionAcrossInstances(t *testing.T) {
	storetest.EachPair(t, func(t *testing.T, a, b *store.Store) {
		sa := service.New(a, stillClock{now}, nil, service.Options{Logger: storetest.Quiet()})
		sb := service.New(b, stillClock{now}, nil, service.Options{Logger: storetest.Quiet()})
		catalogue(t, sa)
		for i := 1; i <= 6; i++ {
			svc := sa
			if i%2 == 0 {
				svc = sb
			}
			got, err := intake(svc)
			if err != nil {
				t.Fatal(err)
			}
			if got != code(i) {
				t.Fatalf("intake %d got %s, want %s", i, got, code(i))
			}
		}
		// A new instance (a restart) goes on where the others stopped.
		sc := service.New(b, stillClock{now}, nil, service.Options{Logger: storetest.Quiet()})
		if got, err := intake(sc); err != nil || got != code(7) {
			t.Fatalf("after a restart got %s, %v; want %s", got, err, code(7))
		}
		// Concurrent intakes on both instances: every number from 8 to 47 once.
		var mu sync.Mutex
		var got []string
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			svc := []*service.Service{sa, sb}[w%2]
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 10; i++ {
					c, err := intake(svc)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					got = append(got, c)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		sort.Strings(got)
		for i, c := range got {
			if c != code(8+i) {
				t.Fatalf("concurrent numbers %v: want %s at %d", got, code(8+i), i)
			}
		}
	})
}

// failingStore makes every intake fail after its number was taken, inside
// the transaction.
type failingStore struct{ service.Store }

type failingTx struct{ service.Tx }

var errBoom = errors.New("disk full")

func (s failingStore) InTx(ctx context.Context, fn func(tx service.Tx) error) error {
	return s.Store.InTx(ctx, func(tx service.Tx) error { return fn(failingTx{tx}) })
}

func (t failingTx) InsertDossier(ctx context.Context, d *domain.Dossier, ch domain.Change) error {
	if err := t.Tx.InsertDossier(ctx, d, ch); err != nil {
		return err
	}
	return errBoom
}

// A rolled-back intake gives its number back.
func TestFailedIntakeTakesNoNumber(t *testing.T) {
	storetest.EachPair(t, func(t *testing.T, a, b *store.Store) {
		sa := service.New(a, stillClock{now}, nil, service.Options{Logger: storetest.Quiet()})
		bad := service.New(failingStore{b}, stillClock{now}, nil, service.Options{Logger: storetest.Quiet()})
		catalogue(t, sa)
		if got, err := intake(sa); err != nil || got != code(1) {
			t.Fatalf("got %s, %v", got, err)
		}
		for i := 0; i < 3; i++ {
			if _, err := intake(bad); !errors.Is(err, errBoom) {
				t.Fatalf("failing intake: %v", err)
			}
		}
		if got, err := intake(sa); err != nil || got != code(2) {
			t.Fatalf("after failed intakes got %s, %v; want %s", got, err, code(2))
		}
	})
}
