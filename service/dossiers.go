package service

import (
	"context"
	"time"

	"github.com/motcua/motcua/domain"
)

// IntakeCmd is a clerk's intake of one dossier.
type IntakeCmd struct {
	ProcedureCode string
	Channel       string
	Delivery      string
	Applicant     domain.Applicant
	Documents     []string
	// Notify is the channels the applicant asks to be told by (sms, email).
	Notify []string
	// ReceivedAt is for administrators importing old dossiers; nil means now.
	ReceivedAt *time.Time
	// AgencyCode lets an administrator take in for a unit; clerks take in for their own.
	AgencyCode string
	// IdempotencyKey and RequestHash make a retried intake return the same dossier.
	IdempotencyKey string
	RequestHash    string
}

// IntakeResult is a new (or replayed) dossier and its look-up PIN, shown once.
type IntakeResult struct {
	Dossier *domain.Dossier
	PIN     string
	Replay  bool
}

// Intake takes a dossier in (clerks of the receiving unit, administrators).
func (s *Service) Intake(ctx context.Context, actor domain.Actor, cmd IntakeCmd) (IntakeResult, error) {
	defer s.command()()
	agency, err := intakeAgency(actor, cmd)
	if err != nil {
		return IntakeResult{}, err
	}
	if cmd.IdempotencyKey != "" {
		if res, ok, err := s.replayIntake(ctx, actor, cmd); ok || err != nil {
			return res, err
		}
	}
	now := s.clock.Now()
	in, err := s.intakeInput(ctx, agency, cmd, now)
	if err != nil {
		return IntakeResult{}, err
	}
	pin, err := newPIN()
	if err != nil {
		return IntakeResult{}, err
	}
	pinHash, err := s.keys.hashPIN(pin)
	if err != nil {
		return IntakeResult{}, err
	}
	var d *domain.Dossier
	err = s.store.InTx(ctx, func(tx Tx) error {
		var err error
		d, err = s.receive(ctx, tx, actor, cmd, in, intakePIN{pin: pin, hash: pinHash}, now)
		return err
	})
	if err != nil {
		if cmd.IdempotencyKey != "" && domain.CodeOf(err) == domain.CodeDuplicate {
			// Another request with the same key won the race: answer as it did.
			if res, ok, rerr := s.replayIntake(ctx, actor, cmd); ok || rerr != nil {
				return res, rerr
			}
		}
		return IntakeResult{}, err
	}
	s.wake()
	return IntakeResult{Dossier: d, PIN: pin}, nil
}

// intakeAgency checks who may take the dossier in, and for which unit: a
// clerk for their own, an administrator for any (and alone may give
// received_at).
func intakeAgency(actor domain.Actor, cmd IntakeCmd) (string, error) {
	if !actor.HasAny(domain.RoleClerk, domain.RoleAdmin) {
		return "", domain.Forbiddenf("only a clerk of the receiving unit may take in dossiers")
	}
	agency := actor.Agency
	if cmd.AgencyCode != "" && cmd.AgencyCode != agency {
		if !actor.IsAdmin() {
			return "", domain.Forbiddenf("a clerk takes in dossiers for their own unit only")
		}
		agency = cmd.AgencyCode
	}
	if !domain.ValidAgencyCode(agency) {
		return "", &domain.Error{Kind: domain.Invalid, Code: domain.CodeValidationFailed, Detail: "no receiving unit",
			Fields: []domain.FieldError{{Field: "agency_code", Message: "give the receiving unit's code"}}}
	}
	if cmd.ReceivedAt != nil && !actor.IsAdmin() {
		return "", domain.Forbiddenf("only an administrator may give received_at")
	}
	return agency, nil
}

// intakeInput reads the procedure and builds the domain's intake input,
// checked, with the receiving unit known to the catalogue.
func (s *Service) intakeInput(ctx context.Context, agency string, cmd IntakeCmd, now time.Time) (domain.IntakeInput, error) {
	receivedAt := now
	if cmd.ReceivedAt != nil {
		receivedAt = cmd.ReceivedAt.UTC().Truncate(time.Microsecond)
		if receivedAt.After(now) {
			return domain.IntakeInput{}, fieldError("received_at", "cannot be in the future")
		}
	}
	if !domain.ValidProcedureCode(cmd.ProcedureCode) {
		return domain.IntakeInput{}, fieldError("procedure_code", "is not a procedure code such as 1.001445")
	}
	// One read of the catalogue's version serves the procedure and the
	// calendar from their caches; the transaction reads it again under its
	// lock (receive).
	v, err := s.catalogueVersion(ctx)
	if err != nil {
		return domain.IntakeInput{}, err
	}
	proc, err := s.procedureAt(ctx, cmd.ProcedureCode, v)
	if domain.KindOf(err) == domain.NotFound {
		return domain.IntakeInput{}, fieldError("procedure_code", "no procedure has this code")
	} else if err != nil {
		return domain.IntakeInput{}, err
	}
	in := domain.IntakeInput{Procedure: proc, AgencyCode: agency, Channel: domain.Channel(cmd.Channel),
		Delivery: domain.Delivery(cmd.Delivery), Applicant: cmd.Applicant, Documents: cmd.Documents, ReceivedAt: receivedAt, Notify: cmd.Notify}
	if in.Delivery == "" {
		in.Delivery = domain.DeliveryCounter
	}
	if err := in.Validate(); err != nil {
		return domain.IntakeInput{}, err
	}
	_, err = s.calendarAt(ctx, s.store, agency, v)
	if domain.KindOf(err) == domain.NotFound {
		return domain.IntakeInput{}, fieldError("agency_code", "the receiving unit is not in the catalogue")
	}
	return in, err
}

// intakePIN is a new dossier's look-up PIN and its hash.
type intakePIN struct{ pin, hash string }

// receive takes the dossier in inside the transaction: the next number of
// the unit's daily sequence, the dossier (domain.Receive) written with its
// change, and the Idempotency-Key with the sealed PIN.
func (s *Service) receive(ctx context.Context, tx IntakeTx, actor domain.Actor, cmd IntakeCmd, in domain.IntakeInput,
	pin intakePIN, now time.Time) (*domain.Dossier, error) {
	local := in.ReceivedAt.In(domain.Vietnam())
	day := local.Format("060102")
	seq, err := tx.NextSequence(ctx, in.AgencyCode, day)
	if err != nil {
		return nil, err
	}
	// The calendar as of this transaction, with the catalogue's version
	// held: a day recorded on another instance a moment ago counts, and one
	// being recorded now waits for this dossier, so its recompute finds it.
	// (On PostgreSQL the store took the lock and read the version with the
	// number, in one round trip.)
	cal, err := s.calendarIn(ctx, tx, in.AgencyCode)
	if err != nil {
		return nil, err
	}
	at := now
	if cmd.ReceivedAt == nil {
		// Read the clock again now that the counter is held, so numbers and
		// reception times run in the same order on every instance.
		if t := s.clock.Now(); t.After(at) && t.In(domain.Vietnam()).Format("060102") == day {
			at, in.ReceivedAt = t, t
		}
	}
	d, ch := domain.Receive(in, domain.DossierCode(in.AgencyCode, local, seq), pin.hash, cal, actor, at, s.opts.DueSoonLead)
	if err := tx.InsertDossier(ctx, d, ch); err != nil {
		return nil, err
	}
	d.History = ch.History // the answer shows what a read shows
	if cmd.IdempotencyKey == "" {
		return d, nil
	}
	sealed, err := s.keys.sealReplay(pin.pin, actor.Sub, cmd.IdempotencyKey, d.Code)
	if err != nil {
		return nil, err
	}
	return d, tx.SaveIdempotencyKey(ctx, actor.Sub, cmd.IdempotencyKey, cmd.RequestHash, d.Code, sealed, at)
}

func (s *Service) replayIntake(ctx context.Context, actor domain.Actor, cmd IntakeCmd) (IntakeResult, bool, error) {
	hash, code, sealed, found, err := s.store.IdempotencyKey(ctx, actor.Sub, cmd.IdempotencyKey)
	if err != nil || !found {
		return IntakeResult{}, false, err
	}
	if hash != cmd.RequestHash {
		return IntakeResult{}, false, domain.Conflictf(domain.CodeIdempotencyKeyReused, "this Idempotency-Key was used with a different request")
	}
	d, err := s.store.Dossier(ctx, code)
	if err != nil {
		return IntakeResult{}, false, err
	}
	// The key is per sub, but the sub's roles and agency come from the
	// token of this request: someone who may no longer take dossiers in for
	// the receiving unit gets neither the applicant's data nor the PIN.
	if err := actor.CanPrint(d); err != nil {
		return IntakeResult{}, false, err
	}
	pin := s.keys.openReplay(sealed, actor.Sub, cmd.IdempotencyKey, d.Code)
	if pin != "" && !s.keys.checkPIN(d.PINHash, pin) {
		pin = "" // a new PIN was issued since: the one kept with the key is void
	}
	return IntakeResult{Dossier: d, PIN: pin, Replay: true}, true, nil
}

func fieldError(field, msg string) error {
	return &domain.Error{Kind: domain.Invalid, Code: domain.CodeValidationFailed, Detail: field + " " + msg,
		Fields: []domain.FieldError{{Field: field, Message: msg}}}
}

// Dossier returns the whole dossier to staff of the agencies involved and to
// supervisors of an agency above them.
func (s *Service) Dossier(ctx context.Context, actor domain.Actor, code string) (*domain.Dossier, error) {
	if _, _, _, ok := domain.ParseDossierCode(code); !ok {
		return nil, domain.NotFoundf("no dossier %q", code)
	}
	d, err := s.store.Dossier(ctx, code)
	if err != nil {
		return nil, err
	}
	if err := s.canRead(ctx, actor, d); err != nil {
		return nil, err
	}
	return d, nil
}

// canRead answers Forbidden unless the actor's dossier scope holds the
// dossier (domain.Actor.DossierScope).
func (s *Service) canRead(ctx context.Context, actor domain.Actor, d *domain.Dossier) error {
	scope, err := s.DossierScope(ctx, actor)
	if err != nil {
		return err
	}
	return scope.CanRead(d)
}

// DossierScope is the agencies whose dossiers the actor may read and list.
func (s *Service) DossierScope(ctx context.Context, actor domain.Actor) (domain.Scope, error) {
	subtree, err := s.subtreeOf(ctx, actor)
	if err != nil {
		return domain.Scope{}, err
	}
	return actor.DossierScope(subtree)
}

// subtreeOf looks up the agencies below the actor's when their scope needs
// them.
func (s *Service) subtreeOf(ctx context.Context, actor domain.Actor) ([]string, error) {
	if !actor.NeedsSubtree() {
		return nil, nil
	}
	return s.store.Subtree(ctx, actor.Agency)
}

// PublicView is what a citizen with the PIN sees: no personal data.
type PublicView struct {
	Dossier     *domain.Dossier
	AgencyNames map[string]string
}

// errNoDossier is the one answer for an unknown code, a wrong PIN and a
// locked look-up, so none of them tells anything.
func errNoDossier() error {
	return domain.NotFoundf("không tìm thấy hồ sơ với mã và mã tra cứu đã nhập")
}

// Lookup is the citizen's look-up by code and PIN, with a lock-out after
// repeated wrong PINs. The hot path is one indexed read of the dossier's
// head; the view itself is cached per dossier version, so a cached view is
// never older than the dossier, on any instance.
func (s *Service) Lookup(ctx context.Context, code, pin, client string) (PublicView, error) {
	head, cv, err := s.unlock(ctx, code, pin, ClientKey(client))
	if err != nil {
		return PublicView{}, err
	}
	if v, ok := s.views.get(code, head.Version, cv); ok {
		return v, nil
	}
	d, err := s.store.DossierForLookup(ctx, code)
	if err != nil {
		return PublicView{}, err
	}
	names := map[string]string{}
	for _, code := range d.InvolvedAgencies() {
		if name, err := s.agencyNameAt(ctx, code, cv); err == nil {
			names[code] = name
		}
	}
	v := PublicView{Dossier: d, AgencyNames: names}
	s.views.put(code, d.Version, cv, v)
	return v, nil
}

// unlock checks the PIN through the attempt limits (attempt); every failure
// is the same not-found. client is a ClientKey. It also returns the
// catalogue's version, read with the head.
func (s *Service) unlock(ctx context.Context, code, pin, client string) (LookupHead, int64, error) {
	if _, _, _, ok := domain.ParseDossierCode(code); !ok || len(pin) != pinDigits {
		return LookupHead{}, 0, errNoDossier()
	}
	head, cv, ok, err := s.attempt(ctx, code, pin, client)
	if err != nil {
		return LookupHead{}, 0, err
	}
	if !ok {
		return LookupHead{}, 0, errNoDossier()
	}
	return head, cv, nil
}

// FeedbackCmd is a citizen's rating of the service after the result.
type FeedbackCmd struct {
	Code string
	PIN  string
	// Client is the citizen's address, for the per-address PIN limits.
	Client  string
	Rating  int
	Comment string
}

// Feedback records one rating (1-5) and a comment, once, after the result
// was returned.
func (s *Service) Feedback(ctx context.Context, cmd FeedbackCmd) error {
	if err := domain.ValidateRating(cmd.Rating, cmd.Comment); err != nil {
		return err
	}
	if _, _, err := s.unlock(ctx, cmd.Code, cmd.PIN, ClientKey(cmd.Client)); err != nil {
		return err
	}
	now := s.clock.Now()
	return s.store.InTx(ctx, func(tx Tx) error {
		d, err := tx.Dossier(ctx, cmd.Code)
		if err != nil {
			return err
		}
		read := d.Version
		ch, err := d.Rate(cmd.Rating, cmd.Comment, now)
		if err != nil {
			return err
		}
		return tx.UpdateDossier(ctx, d, read, ch)
	})
}
