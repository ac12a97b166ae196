package store_test

import "time"

// fixed is a service clock stopped at an instant.
type fixed time.Time

func (f fixed) Now() time.Time { return time.Time(f).UTC() }
