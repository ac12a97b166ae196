package service

import (
	"context"
	"slices"
	"sync"

	"github.com/motcua/motcua/domain"
)

// viewCache keeps citizens' views by dossier code and version. An entry is
// used only for the version the database reports at the moment, so it is
// never stale; the bound keeps memory flat (a full cache is emptied).
type viewCache struct {
	mu  sync.RWMutex
	m   map[string]cachedView
	max int
}

type cachedView struct {
	version   int
	catalogue int64 // the catalogue version its agency names were read at
	view      PublicView
}

func newViewCache(max int) *viewCache { return &viewCache{m: make(map[string]cachedView), max: max} }

func (c *viewCache) get(code string, version int, catalogue int64) (PublicView, bool) {
	c.mu.RLock()
	e, ok := c.m[code]
	c.mu.RUnlock()
	if !ok || e.version != version || e.catalogue != catalogue {
		return PublicView{}, false
	}
	return e.view, true
}

func (c *viewCache) put(code string, version int, catalogue int64, v PublicView) {
	c.mu.Lock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[code] = cachedView{version: version, catalogue: catalogue, view: v}
	c.mu.Unlock()
}

// The caches of calendars and names are checked against the catalogue's
// version counter, read from the database on use (one row by its key): every
// change of agencies, office hours, procedures or recorded days moves it on in
// its own transaction, so an entry is used only while nothing changed since it
// was loaded, on whichever instance made the change. Entries are loaded after
// the counter was read, so their data is never older than the version they
// carry. A transaction that changes the catalogue must not fill these caches:
// the version it sees is not committed and would be reused after a rollback.

// catalogueVersion reads the counter outside a transaction.
func (s *Service) catalogueVersion(ctx context.Context) (int64, error) {
	return s.store.CatalogueVersion(ctx)
}

// agencyName returns an agency's name as of the current catalogue version.
func (s *Service) agencyName(ctx context.Context, code string) (string, error) {
	v, err := s.catalogueVersion(ctx)
	if err != nil {
		return "", err
	}
	return s.agencyNameAt(ctx, code, v)
}

// agencyNameAt returns an agency's name cached at version v, loading it if
// the cache holds another version.
func (s *Service) agencyNameAt(ctx context.Context, code string, v int64) (string, error) {
	return s.nameAt(code, v, func() (string, error) {
		a, err := s.store.Agency(ctx, code)
		return a.Name, err
	})
}

// nameAt returns the name kept under key for catalogue version v, or
// loads it and keeps it; the bound keeps memory flat (a full cache is
// emptied).
func (s *Service) nameAt(key string, v int64, load func() (string, error)) (string, error) {
	s.namesMu.Lock()
	e, ok := s.names[key]
	s.namesMu.Unlock()
	if ok && e.version == v {
		return e.name, nil
	}
	name, err := load()
	if err != nil {
		return "", err
	}
	s.namesMu.Lock()
	if len(s.names) >= 50_000 {
		clear(s.names)
	}
	s.names[key] = cachedName{name: name, version: v}
	s.namesMu.Unlock()
	return name, nil
}

type cachedName struct {
	name    string
	version int64
}

// procedureAt returns the current version of a procedure as of catalogue
// version v, cached: an intake needs it before its transaction, and a new
// version of a procedure moves the catalogue's counter on. The bound keeps
// memory flat (a full cache is emptied).
func (s *Service) procedureAt(ctx context.Context, code string, v int64) (domain.Procedure, error) {
	s.procsMu.Lock()
	e, ok := s.procs[code]
	s.procsMu.Unlock()
	if ok && e.version == v {
		p := e.proc
		p.Steps = slices.Clone(p.Steps) // the caller's own
		return p, nil
	}
	p, err := s.store.Procedure(ctx, code, 0)
	if err != nil {
		return domain.Procedure{}, err
	}
	s.procsMu.Lock()
	if len(s.procs) >= 10_000 {
		clear(s.procs)
	}
	if cur, ok := s.procs[code]; !ok || cur.version <= v {
		s.procs[code] = cachedProcedure{proc: p, version: v}
	}
	s.procsMu.Unlock()
	p.Steps = slices.Clone(p.Steps)
	return p, nil
}

type cachedProcedure struct {
	proc    domain.Procedure
	version int64 // the catalogue version it was read after
}

// ProcedureName returns a procedure's current name, cached per catalogue
// version ("" when there is no such procedure).
func (s *Service) ProcedureName(ctx context.Context, code string) (string, error) {
	v, err := s.catalogueVersion(ctx)
	if err != nil {
		return "", err
	}
	return s.nameAt("procedure:"+code, v, func() (string, error) {
		p, err := s.Procedure(ctx, code, 0)
		return p.Name, err
	})
}
