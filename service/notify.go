package service

import (
	"context"
	"time"

	"github.com/motcua/motcua/domain"
)

// NotificationStore keeps the messages to applicants, one row per (event,
// channel), for the notifier.
type NotificationStore interface {
	// AddNotifications writes pending rows, skipping those whose (event,
	// channel) exists, and returns how many it added.
	AddNotifications(ctx context.Context, ns []domain.Notification, now time.Time) (int, error)
	// DueNotifications returns up to limit pending rows due at now, only
	// the first pending one of each dossier and channel.
	DueNotifications(ctx context.Context, now time.Time, limit int) ([]domain.Notification, error)
	// BeginAttempts counts an attempt at each pending, due row among ids
	// and moves its next attempt to next, in one statement; it returns the
	// ids this caller won (another caller may have taken the others).
	BeginAttempts(ctx context.Context, ids []int64, now, next time.Time) ([]int64, error)
	// FinishAttempts records the outcomes of attempts, in one transaction.
	FinishAttempts(ctx context.Context, outs []AttemptOutcome, now time.Time) error
	// Contacts returns, for those of the dossiers that consented to any
	// channel, the consent and the contacts, in one read.
	Contacts(ctx context.Context, codes []string) (map[string]Contact, error)
	// NotificationStatus summarises the rows for operators.
	NotificationStatus(ctx context.Context, since time.Time, limit int) (NotificationReport, error)
	// DossiersForNotice returns what messages say of these dossiers: the
	// dossier, its pauses and its refusal and stop history lines; codes
	// not found are left out.
	DossiersForNotice(ctx context.Context, codes []string) (map[string]*domain.Dossier, error)
	// Agency returns an agency (NotFound if none).
	Agency(ctx context.Context, code string) (domain.Agency, error)
	// Procedure returns a version of a procedure; 0 is the current one.
	Procedure(ctx context.Context, code string, version int) (domain.Procedure, error)
}

// Contact is what the notifier needs to know of a dossier to write its
// rows: the channels consented to and the contacts.
type Contact struct {
	Notify domain.Consent
	Phone  string
	Email  string
}

// AttemptOutcome is how one attempt at a notification ended: sent, failed
// for good, or pending again from Next with Error.
type AttemptOutcome struct {
	ID     int64
	Status domain.NotificationStatus
	Error  string
	Next   time.Time
}

// NotificationCount is how many rows of a channel are in a status.
type NotificationCount struct {
	Channel domain.NotifyChannel
	Status  domain.NotificationStatus
	Count   int
}

// NotificationReport is what `motcua notify status` prints.
type NotificationReport struct {
	Counts        []NotificationCount
	OldestPending *domain.Notification
	Failed        []domain.Notification
}

// SetNotifyCmd changes the channels an applicant is told by.
type SetNotifyCmd struct {
	Code    string
	Version int
	Notify  []string
}

// SetNotify records a change of the applicant's consent (a clerk of the
// receiving unit, or an administrator), with a history line.
func (s *Service) SetNotify(ctx context.Context, actor domain.Actor, cmd SetNotifyCmd) (*domain.Dossier, error) {
	if !actor.HasAny(domain.RoleClerk, domain.RoleAdmin) {
		return nil, domain.Forbiddenf("only a clerk of the receiving unit may change how the applicant is told")
	}
	if _, _, _, ok := domain.ParseDossierCode(cmd.Code); !ok {
		return nil, domain.NotFoundf("no dossier %q", cmd.Code)
	}
	if cmd.Version < 1 {
		return nil, fieldError("version", "give the version of the dossier you read")
	}
	now := s.clock.Now()
	var d *domain.Dossier
	err := s.store.InTx(ctx, func(tx Tx) error {
		var err error
		if d, err = tx.DossierForUpdate(ctx, cmd.Code); err != nil {
			return err
		}
		if !actor.IsAdmin() && actor.Agency != d.AgencyCode {
			return domain.Forbiddenf("only the receiving unit's clerks may change how the applicant is told")
		}
		if d.Version != cmd.Version {
			return domain.Conflictf("version_conflict", "the dossier changed since version %d was read", cmd.Version)
		}
		ch, err := d.SetConsent(cmd.Notify, actor, now)
		if err != nil {
			return err
		}
		return tx.UpdateDossier(ctx, d, cmd.Version, ch)
	})
	if err != nil {
		return nil, err
	}
	return s.store.Dossier(ctx, cmd.Code)
}
