package ledger

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// PostgresConfig configures the PostgreSQL ledger. Several hub instances may
// share one database.
type PostgresConfig struct {
	// DSN is a postgres:// URL or a libpq key=value string, as accepted by
	// pgx. Required. Error messages name its host and database, never its
	// password.
	DSN string
	// MaxConns caps the open connections for queries. Default 10. Leases
	// taken through Locker use a separate pool and do not count here.
	MaxConns int
	// ConnMaxLifetime is how long a connection is reused before it is
	// closed and reopened. Default 30 minutes.
	ConnMaxLifetime time.Duration
	// FileLockTimeout is how long BeginFile waits while another instance
	// applies a file. Files are applied one at a time across all instances,
	// like SQLite's single writer. Default 2 minutes, because one large
	// package holds the lock for the whole of its import.
	FileLockTimeout time.Duration
	// MigrationLockTimeout is how long OpenPostgres waits while another
	// instance migrates the schema. Default 5 minutes. It is rounded up to
	// whole seconds, because the migration lock is polled once a second.
	MigrationLockTimeout time.Duration
	// LeaseCheckInterval is how often a held lease checks its connection.
	// A lease whose connection broke is reported lost about this much
	// later, and until then two holders may both believe they hold it. The
	// server frees the lock of a holder that sent nothing for ten intervals
	// (at least one second). Default 1 second.
	LeaseCheckInterval time.Duration
}

func (c *PostgresConfig) setDefaults() {
	if c.MaxConns == 0 {
		c.MaxConns = 10
	}
	if c.ConnMaxLifetime == 0 {
		c.ConnMaxLifetime = 30 * time.Minute
	}
	if c.FileLockTimeout == 0 {
		c.FileLockTimeout = 2 * time.Minute
	}
	if c.MigrationLockTimeout == 0 {
		c.MigrationLockTimeout = 5 * time.Minute
	}
	if c.LeaseCheckInterval == 0 {
		c.LeaseCheckInterval = time.Second
	}
}

func (c *PostgresConfig) validate() error {
	if c.DSN == "" {
		return errors.New("postgres ledger: DSN is empty; set store.dsn in the config")
	}
	if c.MaxConns < 1 {
		return fmt.Errorf("postgres ledger: invalid max connections %d; set at least 1", c.MaxConns)
	}
	for _, d := range []struct {
		name  string
		value time.Duration
	}{
		{"connection max lifetime", c.ConnMaxLifetime},
		{"file lock timeout", c.FileLockTimeout},
		{"migration lock timeout", c.MigrationLockTimeout},
		{"lease check interval", c.LeaseCheckInterval},
	} {
		if d.value < 0 {
			return fmt.Errorf("postgres ledger: invalid %s %v; set a positive duration", d.name, d.value)
		}
	}
	return nil
}

// Advisory lock keys of the ledger itself. Leases taken through Locker hash
// the caller's name the same way, so these names are reserved.
var (
	filesLockKey   = lockKey("obmenhub ledger files")
	migrateLockKey = lockKey("obmenhub ledger migrations")
)

// OpenPostgres connects to the PostgreSQL ledger through pgx and brings its
// schema up to date. Instances that start at once migrate one at a time
// under a session advisory lock.
func OpenPostgres(ctx context.Context, cfg PostgresConfig) (*SQLStore, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	connConfig, err := pgx.ParseConfig(cfg.DSN)
	if err != nil {
		// The parse error may quote the DSN, password included.
		return nil, errors.New("postgres ledger: invalid DSN; expected a postgres:// URL or key=value pairs " +
			"(the DSN is not shown because it may contain a password)")
	}
	target := describeTarget(connConfig)

	db := stdlib.OpenDB(*connConfig)
	db.SetMaxOpenConns(cfg.MaxConns)
	db.SetMaxIdleConns(cfg.MaxConns)
	db.SetConnMaxLifetime(cfg.ConnMaxLifetime)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres ledger: connect to %s: %w", target, err)
	}
	if err := migratePostgres(ctx, db, cfg.MigrationLockTimeout); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres ledger: migrate schema of %s: %w", target, err)
	}

	// Leases hold their connections for as long as they last, so they get
	// a pool of their own and never take connections from queries.
	lockDB := stdlib.OpenDB(*connConfig)
	lockDB.SetMaxIdleConns(1)
	locker := NewPostgresLocker(lockDB, cfg.LeaseCheckInterval)
	fileLockTimeout := cfg.FileLockTimeout
	s := &SQLStore{
		db:      db,
		dialect: dialectPostgres,
		locker:  locker,
		lockFiles: func(ctx context.Context, tx *sql.Tx) error {
			return lockFilesPostgres(ctx, tx, fileLockTimeout)
		},
		closers: []func() error{locker.Close},
	}
	return s, nil
}

// describeTarget names a database as host:port/database, for messages.
func describeTarget(c *pgx.ConnConfig) string {
	return net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port))) + "/" + c.Database
}

// lockFilesPostgres waits until no other transaction applies a file. The
// lock is transaction-scoped, so commit or rollback releases it. Applying
// files one at a time keeps seq in commit order, lets a full package see
// every SKU that earlier files inserted and prevents deadlocks between files
// that list the same SKUs in different orders.
func lockFilesPostgres(ctx context.Context, tx *sql.Tx, timeout time.Duration) error {
	// lock_timeout applies to advisory locks too. SET takes no bind
	// parameters, so the value is formatted in.
	ms := max(timeout.Milliseconds(), 1)
	if _, err := tx.ExecContext(ctx, "SET LOCAL lock_timeout = "+strconv.FormatInt(ms, 10)); err != nil {
		return fmt.Errorf("set lock timeout: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, filesLockKey); err != nil {
		return fmt.Errorf("wait %v for another instance to finish its file: %w", timeout, err)
	}
	if _, err := tx.ExecContext(ctx, "SET LOCAL lock_timeout TO DEFAULT"); err != nil {
		return fmt.Errorf("reset lock timeout: %w", err)
	}
	return nil
}

//go:embed migrations/*.sql
var postgresMigrations embed.FS

// migrationTable is goose's version table of the ledger schema.
const migrationTable = "ledger_schema_version"

// migratePostgres applies the pending migrations of the migrations folder
// with goose. Goose holds a session advisory lock while it runs, so a second
// instance polls once a second until the first is done, then finds nothing
// pending.
func migratePostgres(ctx context.Context, db *sql.DB, lockTimeout time.Duration) error {
	migrations, err := fs.Sub(postgresMigrations, "migrations")
	if err != nil {
		return err
	}
	polls := uint64(max((lockTimeout+time.Second-1)/time.Second, 1))
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrateLockKey), lock.WithLockTimeout(1, polls))
	if err != nil {
		return err
	}
	provider, err := goose.NewProvider(goose.DialectPostgres, db, migrations,
		goose.WithSessionLocker(locker),
		goose.WithTableName(migrationTable),
		goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return err
	}
	_, err = provider.Up(ctx)
	return err
}
