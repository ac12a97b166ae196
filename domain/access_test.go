package domain

import "testing"

func TestScopes(t *testing.T) {
	d := &Dossier{AgencyCode: "C", LeadAgencyCode: "L", HolderCode: "C", Steps: []Step{{AgencyCode: "S1"}, {AgencyCode: "S2"}}}
	actor := func(r Role, agency string) Actor { return Actor{Roles: []Role{r}, Agency: agency} }
	subtree := []string{"P", "S2"}
	cases := []struct {
		actor       Actor
		read, print bool
		report      bool // may read reports
	}{
		{actor(RoleAdmin, "X"), true, true, true},
		{actor(RoleClerk, "C"), true, true, false},
		{actor(RoleClerk, "S1"), true, false, false},
		{actor(RoleClerk, "X"), false, false, false},
		{actor(RoleOfficer, "S2"), true, false, false},
		{actor(RoleOfficer, "L"), true, false, false},
		{actor(RoleOfficer, "C"), true, false, false},
		{actor(RoleOfficer, "X"), false, false, false},
		{actor(RoleSupervisor, "P"), true, false, true}, // S2 is below P
		{actor(RoleSupervisor, "X"), true, false, true}, // the subtree given holds S2
		{Actor{Agency: "C"}, false, false, false},
	}
	for _, c := range cases {
		var sub []string
		if c.actor.NeedsSubtree() {
			sub = subtree
			if c.actor.Agency == "X" {
				sub = []string{"X", "S2"}
			}
		}
		scope, err := c.actor.DossierScope(sub)
		if got := err == nil && scope.Sees(d); got != c.read {
			t.Errorf("%+v reads: %v, want %v", c.actor, got, c.read)
		}
		if got := err == nil && scope.CanRead(d) == nil; got != c.read {
			t.Errorf("%+v CanRead: %v, want %v", c.actor, got, c.read)
		}
		if got := c.actor.MayPrint(d); got != c.print || (c.actor.CanPrint(d) == nil) != c.print {
			t.Errorf("%+v prints: %v, want %v", c.actor, got, c.print)
		}
		if _, err := c.actor.ReportScope(sub); (err == nil) != c.report {
			t.Errorf("%+v reports: %v, want %v", c.actor, err, c.report)
		}
	}
	if s, _ := actor(RoleSupervisor, "P").DossierScope([]string{"Q"}); !s.Has("P") || !s.Has("Q") {
		t.Errorf("a supervisor's scope %v lacks their own agency", s)
	}
}
