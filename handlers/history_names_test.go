package handlers_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/motcua/motcua/auth"
	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// History lines keep the person's name and title from the token beside the
// subject, so people read names and machines read subjects.
func TestHistoryKeepsActorNameAndTitle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.catalogue()
		clerk := domain.Actor{Sub: "clerk-pham", Name: "Phạm Thị Lan", Title: "Chuyên viên một cửa",
			Roles: []domain.Role{domain.RoleClerk}, Agency: center}
		tok, err := auth.Issue(e.secret, clerk, time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		var d dossierDoc
		e.must(e.do(http.MethodPost, "/api/v1/dossiers", tok, intakeBody("2.000635", "counter")), http.StatusCreated).json(t, &d)
		var got struct {
			History []struct {
				Actor      string `json:"actor"`
				ActorName  string `json:"actor_name"`
				ActorTitle string `json:"actor_title"`
				Action     string `json:"action"`
			} `json:"history"`
		}
		e.must(e.do(http.MethodGet, "/api/v1/dossiers/"+d.Code, tok, nil), http.StatusOK).json(t, &got)
		if len(got.History) == 0 {
			t.Fatal("no history")
		}
		h := got.History[0]
		if h.Action != "receive" || h.Actor != "clerk-pham" || h.ActorName != "Phạm Thị Lan" || h.ActorTitle != "Chuyên viên một cửa" {
			t.Fatalf("history line = %+v", h)
		}
	})
}
