package seed

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
)

// BenchmarkSeedDay measures the generator alone: one day of 1,000 dossiers
// simulated through the domain, without writing.
func BenchmarkSeedDay(b *testing.B) {
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, domain.Vietnam())
	g := &gen{o: Options{Now: now}, admin: domain.Actor{Sub: "seed", Roles: []domain.Role{domain.RoleAdmin}}, hashPIN: service.LegacyPINHash}
	g.catalogue(rand.New(rand.NewPCG(1, 2)), now.AddDate(-1, 0, 0))
	w := g.worker()
	d := domain.DateOf(now).AddDays(-200)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.day(d.AddDays(i%150), 1000)
	}
}

func TestAvailableMemory(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		text string
		want int64
	}{
		{"MemTotal:       24576000 kB\nMemFree:          100000 kB\nMemAvailable:    2048000 kB\nBuffers: 1 kB\n", 2048000 << 10},
		{"MemTotal:       24576000 kB\n", 0},
		{"MemAvailable:    lots kB\n", 0},
	} {
		p := filepath.Join(dir, "meminfo")
		if err := os.WriteFile(p, []byte(c.text), 0o600); err != nil {
			t.Fatal(err)
		}
		if got := availableMemory(p); got != c.want {
			t.Errorf("%q: %d, want %d", c.text, got, c.want)
		}
	}
	if got := availableMemory(filepath.Join(dir, "none")); got != 0 {
		t.Errorf("no file: %d", got)
	}
}
