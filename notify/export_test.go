package notify

import "github.com/motcua/motcua/domain"

// CrashAfterSend makes a notifier stop, as a crash would, after a gateway
// accepted a message and before its row is updated, whenever f says false.
func CrashAfterSend(o *Options, f func(n domain.Notification) bool) { o.afterSend = f }

// ErrCrashed is what Run returns after such a stop.
var ErrCrashed = errCrashed
