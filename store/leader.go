package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Advisory-lock keys of the jobs one instance runs at a time.
const (
	LockRelay int64 = 0x6d6f74637561_01 // "motcua" + 1
	// LockRecompute: the runner of the calendar's recompute jobs.
	LockRecompute int64 = 0x6d6f74637561_08
	// LockNotify is the notifier's: one instance tells applicants at a time.
	LockNotify int64 = 0x6d6f74637561_10
	// LockPortal: the national portal sync.
	LockPortal int64 = 0x6d6f74637561_11
)

// OutboxChannel is the PostgreSQL notification channel a commit that wrote
// outbox rows signals.
const OutboxChannel = "motcua_outbox"

// Lead runs fn while this instance holds the advisory lock key on
// PostgreSQL, so one instance at a time does the job and another takes over
// when it stops or loses its connection; it returns when ctx ends. On
// SQLite (one process per file) fn simply runs.
func (s *Store) Lead(ctx context.Context, key int64, retry time.Duration, fn func(ctx context.Context) error) error {
	if s.dialect != Postgres {
		return fn(ctx)
	}
	for ctx.Err() == nil {
		held, err := s.leadOnce(ctx, key, fn)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("leadership lost or not taken", "err", err)
		}
		if !held || err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(retry):
			}
		}
	}
	return nil
}

func (s *Store) leadOnce(ctx context.Context, key int64, fn func(ctx context.Context) error) (bool, error) {
	conn, err := s.sqlDB.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	var ok bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&ok); err != nil {
		return false, err
	}
	if !ok {
		return false, nil
	}
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// The lock lives as long as this connection: watch it, and stop the job
	// the moment it is gone, since another instance may take over.
	go func() {
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-t.C:
				pingCtx, stop := context.WithTimeout(runCtx, 2*time.Second)
				err := conn.PingContext(pingCtx)
				stop()
				if err != nil && runCtx.Err() == nil {
					cancel(fmt.Errorf("lock connection: %w", err))
					return
				}
			}
		}
	}()
	err = fn(runCtx)
	unlockCtx, stop := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer stop()
	_, _ = conn.ExecContext(unlockCtx, "SELECT pg_advisory_unlock($1)", key)
	if cause := context.Cause(runCtx); cause != nil && !errors.Is(cause, context.Canceled) {
		return true, cause
	}
	return true, err
}

// ListenOutbox calls wake each time another transaction commits outbox rows
// (PostgreSQL LISTEN/NOTIFY), reconnecting until ctx ends. On SQLite the
// service wakes the relay in process, so it returns at once.
func (s *Store) ListenOutbox(ctx context.Context, wake func()) error {
	if s.dialect != Postgres {
		return nil
	}
	for ctx.Err() == nil {
		err := s.listen(ctx, wake)
		if ctx.Err() != nil {
			return nil
		}
		s.log.Warn("outbox listener reconnecting", "err", err)
		wake() // a notification may have been missed
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	return nil
}

func (s *Store) listen(ctx context.Context, wake func()) error {
	defer s.listening.Store(false)
	return withPgx(ctx, s.sqlDB, "LISTEN", func(pc *pgx.Conn) error {
		if _, err := pc.Exec(ctx, "LISTEN "+OutboxChannel); err != nil {
			return err
		}
		s.listening.Store(true)
		for {
			if _, err := pc.WaitForNotification(ctx); err != nil {
				return err
			}
			wake()
		}
	})
}

// OutboxListening reports whether ListenOutbox is listening now: every
// commit with events then wakes the relay through it, this instance's too.
func (s *Store) OutboxListening() bool { return s.listening.Load() }

// PruneOutbox deletes published events older than before, in batches so no
// delete holds locks for long, and returns how many went. It walks
// outbox_published in seq order, which is about the order of publication,
// so it needs no index on published_at (one more entry to write per event):
// an event published late (after an outage) holds back the pruning of the
// batch behind it only until it is old enough itself.
func (s *Store) PruneOutbox(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		res := s.ctx(ctx).Exec(`DELETE FROM outbox_published WHERE seq IN (
			SELECT seq FROM outbox_published ORDER BY seq LIMIT 5000) AND published_at < ?`, ts(before))
		if res.Error != nil {
			return total, translate(res.Error, "outbox prune")
		}
		total += res.RowsAffected
		if res.RowsAffected == 0 {
			return total, nil
		}
	}
}
