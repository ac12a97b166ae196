package service

import (
	"context"
	"sync"
	"time"
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
	version int
	view    PublicView
}

func newViewCache(max int) *viewCache { return &viewCache{m: make(map[string]cachedView), max: max} }

func (c *viewCache) get(code string, version int) (PublicView, bool) {
	c.mu.RLock()
	e, ok := c.m[code]
	c.mu.RUnlock()
	if !ok || e.version != version {
		return PublicView{}, false
	}
	return e.view, true
}

func (c *viewCache) put(code string, version int, v PublicView) {
	c.mu.Lock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[code] = cachedView{version: version, view: v}
	c.mu.Unlock()
}

// agencyName returns an agency's name, cached for CalendarTTL; changes made
// on this instance clear the cache at once.
func (s *Service) agencyName(ctx context.Context, code string) (string, error) {
	s.namesMu.Lock()
	e, ok := s.names[code]
	s.namesMu.Unlock()
	if ok && time.Since(e.loaded) < s.opts.CalendarTTL {
		return e.name, nil
	}
	a, err := s.store.Agency(ctx, code)
	if err != nil {
		return "", err
	}
	s.namesMu.Lock()
	s.names[code] = cachedName{name: a.Name, loaded: time.Now()}
	s.namesMu.Unlock()
	return a.Name, nil
}

type cachedName struct {
	name   string
	loaded time.Time
}
