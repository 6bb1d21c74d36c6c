package ledger

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// PostgresLocker grants leases as PostgreSQL session-level advisory locks.
// Each held lease keeps one connection of db open, and the server frees the
// lock when that connection's session ends, so a crashed holder loses its
// leases without any timeout.
type PostgresLocker struct {
	db            *sql.DB
	checkInterval time.Duration

	mu     sync.Mutex
	held   map[*pgLease]struct{}
	closed bool
}

// NewPostgresLocker returns a locker whose leases hold connections of db
// and check them every checkInterval. A lease whose connection broke closes
// its Done channel at most about one checkInterval later.
func NewPostgresLocker(db *sql.DB, checkInterval time.Duration) *PostgresLocker {
	if checkInterval <= 0 {
		checkInterval = time.Second
	}
	return &PostgresLocker{db: db, checkInterval: checkInterval, held: make(map[*pgLease]struct{})}
}

// Close releases every lease that is still held and closes db. A lease
// that Close ends reports a nil Err, as after Release.
func (l *PostgresLocker) Close() error {
	l.mu.Lock()
	l.closed = true
	leases := make([]*pgLease, 0, len(l.held))
	for lease := range l.held {
		leases = append(leases, lease)
	}
	l.mu.Unlock()
	for _, lease := range leases {
		lease.Release()
	}
	return l.db.Close()
}

// forget drops an ended lease from the held set.
func (l *PostgresLocker) forget(lease *pgLease) {
	l.mu.Lock()
	delete(l.held, lease)
	l.mu.Unlock()
}

// TryLock implements Locker with pg_try_advisory_lock on a connection that
// the lease keeps until Release.
func (l *PostgresLocker) TryLock(ctx context.Context, name string) (Lease, bool, error) {
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("ledger: take lease %q: get connection: %w", name, err)
	}

	// The server ends the session, and so frees the lock, when the holder
	// sends nothing for idleTimeout: a holder whose host froze or lost the
	// network sends no FIN, and TCP alone would keep the session for hours.
	// The lease's checks keep a live holder's session busy.
	idleTimeout := leaseIdleTimeout(l.checkInterval)
	_, err = conn.ExecContext(ctx, `SELECT set_config('idle_session_timeout', $1, false)`,
		strconv.FormatInt(idleTimeout.Milliseconds(), 10))
	if err != nil {
		// NOTE: idle_session_timeout exists from PostgreSQL 14 on. An older
		// server rejects it, and its leases rely on TCP keepalive alone.
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42704" { // undefined_object
			discardConn(conn)
			return nil, false, fmt.Errorf("ledger: take lease %q: set idle session timeout: %w", name, err)
		}
	}

	key := lockKey(name)
	var ok bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil {
		// The server may have granted the lock before the error, so the
		// session must end instead of going back to the pool.
		discardConn(conn)
		return nil, false, fmt.Errorf("ledger: take lease %q: %w", name, err)
	}
	if !ok {
		returnConn(ctx, conn)
		return nil, false, nil
	}

	lease := &pgLease{
		locker: l,
		name:   name,
		key:    key,
		conn:   conn,
		done:   make(chan struct{}),
		stop:   make(chan struct{}),
		check:  l.checkInterval,
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		discardConn(conn)
		return nil, false, fmt.Errorf("ledger: take lease %q: locker is closed", name)
	}
	l.held[lease] = struct{}{}
	l.mu.Unlock()

	lease.watching.Add(1)
	go lease.watch()
	return lease, true, nil
}

// leaseIdleTimeout returns how long the server keeps the session of a
// lease that sends nothing: ten check intervals, and at least one second.
func leaseIdleTimeout(check time.Duration) time.Duration {
	return max(10*check, time.Second)
}

// returnConn resets the idle session timeout of a lease connection that
// holds no lock and returns it to the pool, or closes it if the reset fails.
func returnConn(ctx context.Context, conn *sql.Conn) {
	if _, err := conn.ExecContext(ctx, `RESET idle_session_timeout`); err != nil {
		discardConn(conn)
		return
	}
	conn.Close()
}

// discardConn closes conn's session instead of returning it to the pool.
func discardConn(conn *sql.Conn) {
	conn.Raw(func(any) error { return driver.ErrBadConn })
	conn.Close()
}

type pgLease struct {
	locker *PostgresLocker
	name   string
	key    int64
	check  time.Duration

	mu       sync.Mutex // serializes use of conn
	conn     *sql.Conn  // nil once the lease ended
	err      error
	done     chan struct{}
	stop     chan struct{}
	stopOnce sync.Once
	watching sync.WaitGroup
}

func (l *pgLease) Done() <-chan struct{} { return l.done }

func (l *pgLease) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// watch pings the lease's connection every check interval and ends the
// lease as lost when a ping fails or takes longer than the interval.
func (l *pgLease) watch() {
	defer l.watching.Done()
	ticker := time.NewTicker(l.check)
	defer ticker.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-ticker.C:
		}
		l.mu.Lock()
		if l.conn == nil {
			l.mu.Unlock()
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), l.check)
		err := l.conn.PingContext(ctx)
		cancel()
		if err != nil {
			l.err = fmt.Errorf("ledger: lease %q lost: connection check failed: %w", l.name, err)
			discardConn(l.conn)
			l.conn = nil
			close(l.done)
			l.mu.Unlock()
			l.locker.forget(l)
			return
		}
		l.mu.Unlock()
	}
}

// unlockTimeout bounds the pg_advisory_unlock call of Release. If it runs
// out, the connection is closed instead, which frees the lock as well.
const unlockTimeout = 5 * time.Second

// Release unlocks the advisory lock and returns the connection to the pool.
// If the unlock fails, it closes the connection instead, and the server
// frees the lock when the session ends.
func (l *pgLease) Release() {
	l.stopOnce.Do(func() { close(l.stop) })
	l.watching.Wait()

	defer l.locker.forget(l)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), unlockTimeout)
	defer cancel()
	var unlocked bool
	err := l.conn.QueryRowContext(ctx, `SELECT pg_advisory_unlock($1)`, l.key).Scan(&unlocked)
	if err != nil || !unlocked {
		discardConn(l.conn)
	} else {
		returnConn(ctx, l.conn)
	}
	l.conn = nil
	close(l.done)
}
