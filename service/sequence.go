package service

import (
	"context"
	"sync"
)

// seqBlock is the size of the blocks of dossier-code numbers an instance
// reserves at a time. Reserving one number per intake inside the intake's
// transaction would lock one counter row per agency and day for the whole
// transaction and serialise every counter of that unit; a block costs one
// short statement per seqBlock intakes. The price: a restart leaves up to
// seqBlock-1 numbers unused (codes are never duplicated, but may skip), and
// two instances interleave their blocks.
const seqBlock = 10

type sequences struct {
	mu     sync.Mutex
	blocks map[string]*[2]int64 // agency|day -> next, last
}

// sequence hands out the next number of an agency's daily sequence.
func (s *Service) sequence(ctx context.Context, agency, day string) (int64, error) {
	key := agency + "|" + day
	s.seq.mu.Lock()
	defer s.seq.mu.Unlock()
	b := s.seq.blocks[key]
	if b == nil || b[0] > b[1] {
		last, err := s.store.ReserveSequence(ctx, agency, day, seqBlock)
		if err != nil {
			return 0, err
		}
		if len(s.seq.blocks) > 10_000 {
			clear(s.seq.blocks) // yesterday's blocks
		}
		b = &[2]int64{last - seqBlock + 1, last}
		s.seq.blocks[key] = b
	}
	n := b[0]
	b[0]++
	return n, nil
}
