package domain

import "slices"

// The access policy: who may see which dossiers and reports, and who prints
// a dossier's receipt. Who may take which action is the performer table of
// transition.go (authorised). The service asks these questions for a single
// dossier, the list filter and the reports ask them as a Scope, and the pages
// ask the same questions through the service, so each has one answer.

// Scope is the set of agencies whose dossiers an actor may see: every agency
// (All), or those listed. A dossier is seen when one of its involved agencies
// (InvolvedAgencies) is in the scope.
type Scope struct {
	All      bool
	Agencies []string
}

// Has reports whether the agency lies in the scope.
func (s Scope) Has(agency string) bool {
	return s.All || slices.Contains(s.Agencies, agency)
}

// Sees reports whether a dossier lies in the scope: one of its involved
// agencies is in it.
func (s Scope) Sees(d *Dossier) bool {
	if s.All {
		return true
	}
	for _, a := range d.InvolvedAgencies() {
		if slices.Contains(s.Agencies, a) {
			return true
		}
	}
	return false
}

// NeedsSubtree reports whether the actor's scope depends on the agencies
// below theirs (a supervisor's does), so the caller looks them up before
// asking DossierScope or ReportScope.
func (a Actor) NeedsSubtree() bool {
	return !a.IsAdmin() && a.Has(RoleSupervisor) && a.Agency != ""
}

// DossierScope is the agencies whose dossiers the actor may read and list:
// an administrator every one; a supervisor their agency and every agency
// below it (subtree, which lists both); a clerk or officer their own unit.
// Anyone else is Forbidden.
func (a Actor) DossierScope(subtree []string) (Scope, error) {
	switch {
	case a.IsAdmin():
		return Scope{All: true}, nil
	case a.NeedsSubtree():
		return Scope{Agencies: withAgency(subtree, a.Agency)}, nil
	case a.HasAny(RoleClerk, RoleOfficer, RoleSupervisor):
		return Scope{Agencies: []string{a.Agency}}, nil
	}
	return Scope{}, Forbiddenf("dossiers are for staff of an agency")
}

// ReportScope is the agencies whose reports the actor may read: an
// administrator every one, a supervisor their agency's subtree. Anyone else
// is Forbidden.
func (a Actor) ReportScope(subtree []string) (Scope, error) {
	switch {
	case a.IsAdmin():
		return Scope{All: true}, nil
	case a.NeedsSubtree():
		return Scope{Agencies: subtree}, nil
	}
	return Scope{}, Forbiddenf("reports are for supervisors and administrators")
}

// CanRead answers Forbidden unless the dossier lies in the scope.
func (s Scope) CanRead(d *Dossier) error {
	if s.Sees(d) {
		return nil
	}
	return Forbiddenf("the dossier belongs to agencies you do not work for")
}

// MayPrint reports whether the actor may print the dossier's receipt and
// issue it a new look-up PIN: administrators, and clerks of the receiving
// one-stop unit (the counter that took it in, Circular 03/2025 form 1).
func (a Actor) MayPrint(d *Dossier) bool {
	return a.IsAdmin() || (a.Has(RoleClerk) && a.Agency != "" && a.Agency == d.AgencyCode)
}

// CanPrint answers Forbidden unless the actor MayPrint the dossier.
func (a Actor) CanPrint(d *Dossier) error {
	if a.MayPrint(d) {
		return nil
	}
	return Forbiddenf("receipts are printed by clerks of the receiving unit %s", d.AgencyCode)
}

// withAgency is the subtree with its root, whatever the lookup returned (an
// agency not yet recorded has no subtree row).
func withAgency(subtree []string, agency string) []string {
	if slices.Contains(subtree, agency) {
		return subtree
	}
	return append(slices.Clone(subtree), agency)
}
