package domain

import "time"

// Role is what a signed-in person may do.
type Role string

// Roles (docs/api.md, HTTP conventions).
const (
	RoleClerk      Role = "clerk"
	RoleOfficer    Role = "officer"
	RoleSupervisor Role = "supervisor"
	RoleAdmin      Role = "admin"
)

// ParseRole rejects unknown roles.
func ParseRole(s string) (Role, bool) {
	switch Role(s) {
	case RoleClerk, RoleOfficer, RoleSupervisor, RoleAdmin:
		return Role(s), true
	}
	return "", false
}

// Actor is the person behind a request, from the token's claims.
type Actor struct {
	Sub  string
	Name string
	// Title is the person's position (chức danh), where the token has one.
	Title  string
	Roles  []Role
	Agency string
	// Expires is when the token the actor came with ends (zero: unknown);
	// a console session opened with it ends then too.
	Expires time.Time
}

// MaxNameLen bounds the person's name and title kept from a token, in
// characters.
const MaxNameLen = 100

// Entry starts a history line written by the actor: the subject for
// machines, the name and title for people (docs/domain.md, history).
func (a Actor) Entry(at time.Time, action HistoryAction, from, to Status) HistoryEntry {
	return HistoryEntry{At: at, Actor: a.Sub, ActorName: a.Name, ActorTitle: a.Title, Action: action, From: from, To: to}
}

// Has reports whether the actor holds the role.
func (a Actor) Has(r Role) bool {
	for _, x := range a.Roles {
		if x == r {
			return true
		}
	}
	return false
}

// HasAny reports whether the actor holds one of the roles.
func (a Actor) HasAny(roles ...Role) bool {
	for _, r := range roles {
		if a.Has(r) {
			return true
		}
	}
	return false
}

// IsAdmin reports whether the actor may do everything.
func (a Actor) IsAdmin() bool { return a.Has(RoleAdmin) }
