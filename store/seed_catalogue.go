package store

import (
	"math/rand/v2"
	"time"

	"github.com/motcua/motcua/domain"
)

// SeedCatalogue returns the agencies and procedures `motcua seed` generates
// (34 provinces and their communes), for tests that must hold for every
// name in the catalogue.
func SeedCatalogue() ([]domain.Agency, []domain.Procedure) {
	g := &seedGen{}
	g.catalogue(rand.New(rand.NewPCG(1, 1)), time.Time{})
	procs := make([]domain.Procedure, 0, len(g.procs))
	for _, p := range g.procs {
		procs = append(procs, p.p)
	}
	return g.agencies, procs
}
