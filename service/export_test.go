package service

// PINChecks is how many PIN verifications the process has done.
func PINChecks() int64 { return pinChecks.Load() }
