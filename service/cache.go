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

// The caches of calendars, names and procedures (atVersion) are checked
// against the catalogue's version counter, read from the database on use (one
// row by its key): every
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
	if name, ok := s.names.get(key, v); ok {
		return name, nil
	}
	name, err := load()
	if err != nil {
		return "", err
	}
	s.names.put(key, v, name)
	return name, nil
}

// procedureAt returns the current version of a procedure as of catalogue
// version v, cached: an intake needs it before its transaction, and a new
// version of a procedure moves the catalogue's counter on. The bound keeps
// memory flat (a full cache is emptied).
func (s *Service) procedureAt(ctx context.Context, code string, v int64) (domain.Procedure, error) {
	p, ok := s.procs.get(code, v)
	if !ok {
		var err error
		if p, err = s.store.Procedure(ctx, code, 0); err != nil {
			return domain.Procedure{}, err
		}
		s.procs.put(code, v, p)
	}
	p.Steps = slices.Clone(p.Steps) // the caller's own
	return p, nil
}

// atVersion keeps values by key, each for the catalogue version it was
// loaded after (see above): a value is used only at that version. The bound
// keeps memory flat (a full cache is emptied).
type atVersion[T any] struct {
	mu  sync.Mutex
	m   map[string]versioned[T]
	max int
}

type versioned[T any] struct {
	value   T
	version int64
}

func newAtVersion[T any](max int) *atVersion[T] {
	return &atVersion[T]{m: map[string]versioned[T]{}, max: max}
}

// get returns the value kept under key for version v.
func (c *atVersion[T]) get(key string, v int64) (T, bool) {
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if !ok || e.version != v {
		var zero T
		return zero, false
	}
	return e.value, true
}

// put keeps value under key for version v, unless a later version's is kept.
func (c *atVersion[T]) put(key string, v int64, value T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	if cur, ok := c.m[key]; !ok || cur.version <= v {
		c.m[key] = versioned[T]{value: value, version: v}
	}
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
