package events

// MultipleFilters reports whether a nats-server of that version (as
// nats.Conn.ConnectedServerVersion gives it) takes several filter subjects
// on one consumer (2.10 and later); an unknown version is assumed to.
func MultipleFilters(version string) bool { return multipleFilters(version) }
