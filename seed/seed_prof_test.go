package seed

import (
	"testing"
	"time"

	"github.com/motcua/motcua/domain"
)

// BenchmarkSeedDay measures the generator alone: one day of 1,000 dossiers
// simulated through the domain, without writing.
func BenchmarkSeedDay(b *testing.B) {
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, domain.Vietnam())
	g := newGen(Options{Now: now}, now.AddDate(-1, 0, 0))
	w := g.worker()
	d := domain.DateOf(now).AddDays(-200)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.day(d.AddDays(i%150), 1000)
	}
}
