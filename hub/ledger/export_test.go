package ledger

// StopLeaseChecks stops the connection checks of a PostgreSQL lease, as if
// its holder froze with the connection still open.
func StopLeaseChecks(l Lease) {
	pl := l.(*pgLease)
	pl.stopOnce.Do(func() { close(pl.stop) })
	pl.watching.Wait()
}
