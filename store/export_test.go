package store

import (
	"context"

	"github.com/motcua/motcua/domain"
)

// DossierPerTable loads a dossier with one query per table, as SQLite does,
// for comparison with the one-statement load of PostgreSQL.
func (s *Store) DossierPerTable(ctx context.Context, code string, history bool) (*domain.Dossier, error) {
	var r dossierRow
	if err := s.ctx(ctx).Where("code = ?", code).Take(&r).Error; err != nil {
		return nil, translate(err, "dossier "+code)
	}
	d := r.domain()
	return d, s.loadChildren(ctx, d, history)
}
