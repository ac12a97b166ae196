package portal

// CrashAfterAnswer makes the sync stop as a SIGKILL would, right after the
// portal's answer to a call and before the state's commit, when fn says so.
func CrashAfterAnswer(o *Options, fn func(code, inflight string) bool) { o.crashAfterAnswer = fn }

// ErrCrashed is what Run returns after such a crash.
var ErrCrashed = errCrashed
