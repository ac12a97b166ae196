// Package architecture_test holds the layering of README.md (Architecture)
// and of the packages' doc comments: imports point inward. It reads every
// package's production imports (tests may import what they need) and fails
// on one that breaks a rule, naming the file.
package architecture_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/motcua/motcua/"

// rule is what a package (a directory of the module) may import: the
// module's packages it names, and third-party modules only under the given
// prefixes; the standard library always.
type rule struct {
	ours       []string
	thirdParty []string
}

// rules: domain holds the rules on the standard library alone; service the
// use cases and ports on domain alone; store, events, handlers and auth are
// adapters around them that never import one another; only cmd/motcua wires
// them together; notify and portal, the stream's consumers, sit beside
// events. web, the pages, sits on handlers (the API), whose problem
// mapping, Vietnamese messages, bearer check and report handlers it uses;
// handlers never imports web. seed writes the benchmarks' data set through
// the store's bulk loader; nothing but cmd/motcua imports it. Each adapter alone holds its library: gorm
// and the SQL drivers in store, NATS in events, echo in handlers and web,
// JWT in auth, OIDC, QR codes and templates in web.
var rules = map[string]rule{
	"domain":            {},
	"service":           {ours: []string{"domain"}},
	"store":             {ours: []string{"domain", "service", "migrations"}, thirdParty: []string{"gorm.io/", "github.com/jackc/pgx/", "github.com/ncruces/go-sqlite3/", "github.com/pressly/goose/"}},
	"store/storetest":   {ours: []string{"store"}, thirdParty: []string{"github.com/jackc/pgx/"}},
	"migrations":        {},
	"events":            {ours: []string{"domain", "service"}, thirdParty: []string{"github.com/nats-io/", "github.com/cloudevents/", "github.com/prometheus/"}},
	"events/eventstest": {ours: []string{"domain", "events"}, thirdParty: []string{"github.com/nats-io/"}},
	"handlers": {ours: []string{"domain", "service"}, thirdParty: []string{"github.com/labstack/echo/", "github.com/getkin/kin-openapi/",
		"github.com/prometheus/", "golang.org/x/time/", "github.com/xuri/excelize/"}},
	"web": {ours: []string{"domain", "service", "handlers"}, thirdParty: []string{"github.com/labstack/echo/",
		"github.com/coreos/go-oidc/", "golang.org/x/oauth2", "github.com/yeqown/go-qrcode/"}},
	"auth": {ours: []string{"domain"}, thirdParty: []string{"github.com/golang-jwt/", "github.com/MicahParks/keyfunc/"}},
	// The stream's consumers: each reads the events through events and the
	// database through service's ports, and holds its own gateway's library.
	"notify":            {ours: []string{"domain", "service", "events"}, thirdParty: []string{"github.com/nats-io/", "github.com/prometheus/", "github.com/wneessen/go-mail", "golang.org/x/text/", "golang.org/x/time/"}},
	"portal":            {ours: []string{"domain", "service", "events"}, thirdParty: []string{"github.com/nats-io/", "github.com/prometheus/"}},
	"portal/portaltest": {},
	// The synthetic data set for benchmarks and the demo: the store's bulk
	// loader and the service's PIN hashing, no database library of its own.
	"seed":       {ours: []string{"domain", "service", "store"}},
	"cmd/motcua": {ours: []string{"domain", "service", "store", "events", "handlers", "web", "auth", "notify", "portal", "seed"}, thirdParty: []string{""}},
}

// check returns the rule a production import of the package breaks, or "".
func check(pkg, imp string) string {
	r := rules[pkg]
	if ours, ok := strings.CutPrefix(imp, module); ok {
		if !slices.Contains(r.ours, ours) {
			return pkg + " may not import " + ours
		}
		return ""
	}
	if first, _, _ := strings.Cut(imp, "/"); !strings.Contains(first, ".") {
		return "" // the standard library
	}
	for _, p := range r.thirdParty {
		if strings.HasPrefix(imp, p) {
			return ""
		}
	}
	return pkg + " may not import the library " + imp
}

func TestLayering(t *testing.T) {
	seen := map[string]bool{}
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != "." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		pkg := filepath.ToSlash(filepath.Dir(path))
		if _, ok := rules[pkg]; !ok {
			t.Errorf("%s: package %s has no layering rule: add it to rules", path, pkg)
			return nil
		}
		seen[pkg] = true
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, spec := range f.Imports {
			imp, _ := strconv.Unquote(spec.Path.Value)
			if broken := check(pkg, imp); broken != "" {
				t.Errorf("%s: %s", path, broken)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for pkg := range rules {
		if !seen[pkg] {
			t.Errorf("rule for %s, which has no production code", pkg)
		}
	}
}

// TestLayeringRulesBite holds check to the rules on imports that must fail,
// so a rule loosened by mistake shows.
func TestLayeringRulesBite(t *testing.T) {
	for _, c := range []struct{ pkg, imp string }{
		{"domain", module + "service"},
		{"domain", "github.com/google/uuid"},
		{"service", module + "store"},
		{"service", "gorm.io/gorm"},
		{"store", module + "events"},
		{"events", module + "store"},
		{"handlers", module + "store"},
		{"handlers", "gorm.io/gorm"},
		{"handlers", "github.com/nats-io/nats.go"},
		{"handlers", module + "web"},
		{"handlers", "github.com/coreos/go-oidc/v3/oidc"},
		{"web", module + "store"},
		{"web", module + "auth"},
		{"web", "gorm.io/gorm"},
		{"auth", module + "service"},
		{"store", module + "seed"},
		{"service", module + "seed"},
		{"seed", module + "handlers"},
		{"seed", "gorm.io/gorm"},
	} {
		if check(c.pkg, c.imp) == "" {
			t.Errorf("%s importing %s passes", c.pkg, c.imp)
		}
	}
	for _, c := range []struct{ pkg, imp string }{
		{"domain", "time"}, {"service", module + "domain"}, {"store", "gorm.io/gorm"}, {"cmd/motcua", "github.com/nats-io/nats.go"},
		{"web", module + "handlers"},
	} {
		if broken := check(c.pkg, c.imp); broken != "" {
			t.Errorf("%s importing %s fails: %s", c.pkg, c.imp, broken)
		}
	}
}
