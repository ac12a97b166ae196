package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// loadCompose loads docker-compose.yml as Docker Compose does (the current
// Compose Specification, with its schema check), with env as the only
// environment.
func loadCompose(t *testing.T, env ...string) *types.Project {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{filepath.Join("..", "..", "docker-compose.yml")},
		cli.WithName("motcua"), cli.WithEnv(env), cli.WithDiscardEnvFile)
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("docker-compose.yml does not load: %v", err)
	}
	return p
}

// TestComposeFile: the file is valid, and started as it is the stack has
// no secret anyone could know: no JWT_SECRET (the service generates its key
// in its volume), SESSION_KEY or OIDC secret written in the file; an
// operator's JWT_SECRET reaches the service.
func TestComposeFile(t *testing.T) {
	p := loadCompose(t)
	svc, err := p.GetService("motcua")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"JWT_SECRET", "SESSION_KEY", "OIDC_CLIENT_SECRET"} {
		if v := svc.Environment[name]; v != nil && *v != "" {
			t.Errorf("%s has the default %q: anyone who read the file knows it", name, *v)
		}
	}
	if v := svc.Environment["DATA_DIR"]; v == nil || *v == "" {
		t.Fatal("DATA_DIR unset: the generated key would not be kept")
	} else {
		kept := false
		for _, vol := range svc.Volumes {
			kept = kept || vol.Target == *v
		}
		if !kept {
			t.Errorf("DATA_DIR %s is not a volume: the generated key would change at every new container", *v)
		}
	}
	own := "0123456789abcdef0123456789abcdef-operator"
	svc, _ = loadCompose(t, "JWT_SECRET="+own).GetService("motcua")
	if v := svc.Environment["JWT_SECRET"]; v == nil || *v != own {
		t.Errorf("the operator's JWT_SECRET does not reach the service: %v", v)
	}
}
