package events

import (
	"context"
	"time"
)

// CrashComplianceAt makes c stop as if killed when f returns true for a
// stage ("before-save": counted, nothing written or acknowledged;
// "before-ack": written, not acknowledged).
func CrashComplianceAt(c *Compliance, f func(stage string) bool) { c.crashAt = f }

// SetPumpLifetime sets how long one pump of a relay made with o may read.
func SetPumpLifetime(o *RelayOptions, d time.Duration) { o.pumpLifetime = d }

// SetMarkLinger sets how long acknowledged events of a relay made with o may
// wait to be marked published while a pump runs under Run.
func SetMarkLinger(o *RelayOptions, d time.Duration) { o.markLinger = d }

// PumpOnce runs one pump as Run does (marks lingering) and returns when it
// ends: how many records it read, whether it ended at its lifetime, and its
// error.
func PumpOnce(ctx context.Context, r *Relay) (read int, again bool, err error) {
	return r.pump(ctx, true)
}
