package events

import "time"

// CrashComplianceAt makes c stop as if killed when f returns true for a
// stage ("before-save": counted, nothing written or acknowledged;
// "before-ack": written, not acknowledged).
func CrashComplianceAt(c *Compliance, f func(stage string) bool) { c.crashAt = f }

// SetPumpLifetime sets how long one pump of a relay made with o may read.
func SetPumpLifetime(o *RelayOptions, d time.Duration) { o.pumpLifetime = d }
