package ledger

import (
	"context"
	"hash/fnv"
	"path/filepath"
	"sync"
)

// Locker grants exclusive, named leases that end when the holder's process
// or connection dies. Hub instances that share one ledger use it to elect
// one pusher per channel.
type Locker interface {
	// TryLock tries to take the lease name without waiting. It returns
	// ok=false and a nil lease when another holder has it.
	TryLock(ctx context.Context, name string) (lease Lease, ok bool, err error)
}

// Lease is one held lease.
type Lease interface {
	// Done is closed when the lease ends, by Release or because it was lost.
	Done() <-chan struct{}
	// Err returns nil while the lease is held and after Release. After the
	// lease was lost it returns the cause, and another holder may already
	// have the lease.
	Err() error
	// Release ends the lease. It is safe to call more than once.
	Release()
}

// lockKey maps a lease name to a PostgreSQL advisory lock key with 64-bit
// FNV-1a, which is stable across processes, versions and platforms.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return int64(h.Sum64())
}

// LocalLocker grants leases within one process. It serves the SQLite
// ledger, whose file one hub process holds.
type LocalLocker struct {
	mu   sync.Mutex
	held map[string]*localLease
}

// NewLocalLocker returns a LocalLocker that holds no lease.
func NewLocalLocker() *LocalLocker {
	return &LocalLocker{held: make(map[string]*localLease)}
}

// localLockers holds one LocalLocker per SQLite database path, so that two
// stores that one process opens on the same file share their leases.
var localLockers sync.Map // cleaned absolute path → *LocalLocker

// localLockerFor returns the process-wide LocalLocker of the database at
// path.
func localLockerFor(path string) *LocalLocker {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	l, _ := localLockers.LoadOrStore(filepath.Clean(path), NewLocalLocker())
	return l.(*LocalLocker)
}

// TryLock implements Locker.
func (l *LocalLocker) TryLock(ctx context.Context, name string) (Lease, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.held[name]; ok {
		return nil, false, nil
	}
	lease := &localLease{locker: l, name: name, done: make(chan struct{})}
	l.held[name] = lease
	return lease, true, nil
}

type localLease struct {
	locker *LocalLocker
	name   string
	once   sync.Once
	done   chan struct{}
}

func (l *localLease) Done() <-chan struct{} { return l.done }

// Err returns nil: a lease within one process ends only by Release.
func (l *localLease) Err() error { return nil }

func (l *localLease) Release() {
	l.once.Do(func() {
		l.locker.mu.Lock()
		delete(l.locker.held, l.name)
		l.locker.mu.Unlock()
		close(l.done)
	})
}
