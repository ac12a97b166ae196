package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/motcua/motcua/auth"
	"github.com/motcua/motcua/domain"
)

// token prints a bearer token signed with the service's own key.
func token(cfg Config, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	role := fs.String("role", "", "clerk, officer, supervisor or admin (comma-separated for several)")
	agency := fs.String("agency", "", "agency code, e.g. 000.00.07.H29")
	sub := fs.String("sub", "", "subject (user id); default derived from role and agency")
	name := fs.String("name", "", "display name (kept in the history lines the token's holder writes)")
	title := fs.String("title", "", "position (chức danh), e.g. Chuyên viên")
	ttl := fs.Duration("ttl", 8*time.Hour, "lifetime")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("token: %w (usage: motcua token --role ROLE --agency CODE [--sub ID] [--name N] [--title T] [--ttl 8h])", err)
	}
	a := domain.Actor{Sub: *sub, Name: *name, Title: *title, Agency: *agency}
	for _, r := range strings.Split(*role, ",") {
		parsed, ok := domain.ParseRole(strings.TrimSpace(r))
		if !ok {
			return fmt.Errorf("token: --role must be clerk, officer, supervisor or admin")
		}
		a.Roles = append(a.Roles, parsed)
	}
	if a.Sub == "" {
		a.Sub = *role + "@" + *agency
	}
	key, err := signingKey(cfg)
	if err != nil {
		return err
	}
	tok, err := auth.Issue(key, a, *ttl, time.Now())
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	_, err = fmt.Fprintln(stdout, tok)
	return err
}
