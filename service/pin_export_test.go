package service

import "time"

// SetGiveBacks tunes the give-back batcher; the delay counts from the next
// wait.
func (s *Service) SetGiveBacks(delay time.Duration, batch, limit int) {
	s.giveBacks.mu.Lock()
	s.giveBacks.delay, s.giveBacks.batch, s.giveBacks.limit = delay, batch, limit
	s.giveBacks.mu.Unlock()
}

// SettleGiveBacks makes the batcher apply what is pending now and returns
// when nothing is pending or being applied.
func (s *Service) SettleGiveBacks() {
	b := s.giveBacks
	for {
		b.mu.Lock()
		idle := len(b.pending) == 0 && !b.running && b.flying == 0
		b.mu.Unlock()
		if idle {
			return
		}
		select {
		case b.full <- struct{}{}:
		default:
		}
		time.Sleep(time.Millisecond)
	}
}
