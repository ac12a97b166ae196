package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/motcua/motcua/service"
)

// recompute works the calendar's pending recompute jobs every interval
// until ctx ends (on the instance that holds the lease). A job recorded
// through another instance, or left half done by one that stopped, is found
// at the next look.
func recompute(ctx context.Context, log *slog.Logger, svc *service.Service, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := svc.RunRecomputes(ctx); err != nil && ctx.Err() == nil {
			log.Error("calendar recompute", "err", err, "batches", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
