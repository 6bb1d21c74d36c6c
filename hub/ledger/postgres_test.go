package ledger_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver

	"obmenhub/hub/ledger"
	"obmenhub/hub/ledger/storetest"
	"obmenhub/hub/model"
)

// postgresDSNEnv names the variable that points the tests at a PostgreSQL
// server. Its user must be allowed to create databases.
const postgresDSNEnv = "LEDGER_TEST_POSTGRES_DSN"

const defaultTestDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// newPostgresDatabase creates a database with a random name for one test
// and drops it when the test ends, after the stores that the test opened
// are closed. It returns the DSN of the new database. Without
// LEDGER_TEST_POSTGRES_DSN set, the test is skipped when no server runs at
// the default address.
func newPostgresDatabase(t *testing.T) string {
	t.Helper()
	adminDSN, fromEnv := os.LookupEnv(postgresDSNEnv)
	if !fromEnv {
		adminDSN = defaultTestDSN
	}
	ctx := context.Background()
	admin, err := sql.Open("pgx", adminDSN)
	if err != nil {
		t.Fatalf("open PostgreSQL admin connection: %v", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := admin.PingContext(pingCtx); err != nil {
		admin.Close()
		if !fromEnv && os.Getenv("CI") == "" {
			t.Skipf("PostgreSQL is not reachable at 127.0.0.1:5432 (%v); set %s to run the PostgreSQL tests", err, postgresDSNEnv)
		}
		t.Fatalf("connect to PostgreSQL from %s: %v", postgresDSNEnv, err)
	}

	suffix := make([]byte, 8)
	rand.Read(suffix)
	name := "ledger_test_" + hex.EncodeToString(suffix)
	// template0 is never connected to, so parallel CREATE DATABASE calls
	// from other packages cannot fail on a busy template. The ICU en-US
	// collation, where one is available, sorts unlike byte order, so the
	// suite checks that the schema does not depend on the default collation.
	create := "CREATE DATABASE " + name + " TEMPLATE template0"
	if _, err := admin.ExecContext(ctx, create+" LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"); err != nil {
		t.Logf("create test database with ICU collation en-US: %v; using the server's default collation", err)
		if _, err := admin.ExecContext(ctx, create); err != nil {
			admin.Close()
			t.Fatalf("create test database %s: %v", name, err)
		}
	}
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})

	return withDatabase(t, adminDSN, name)
}

// withDatabase returns dsn with its database replaced by name.
func withDatabase(t *testing.T, dsn, name string) string {
	t.Helper()
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		// In key=value form, the last of repeated keys wins.
		return dsn + " dbname=" + name
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("parse %s: invalid URL", postgresDSNEnv)
	}
	u.Path = "/" + name
	return u.String()
}

func openPostgres(t *testing.T, dsn string) *ledger.SQLStore {
	t.Helper()
	s, err := ledger.OpenPostgres(context.Background(), ledger.PostgresConfig{DSN: dsn, LeaseCheckInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("OpenPostgres: %v", err)
	}
	return s
}

func TestPostgresStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) ledger.Store {
		return openPostgres(t, newPostgresDatabase(t))
	})
}

func TestPostgresSharedStore(t *testing.T) {
	storetest.RunShared(t, func(t *testing.T) func(t *testing.T) ledger.Store {
		dsn := newPostgresDatabase(t)
		return func(t *testing.T) ledger.Store { return openPostgres(t, dsn) }
	})
}

func TestPostgresConcurrentMigrations(t *testing.T) {
	dsn := newPostgresDatabase(t)
	const instances = 4
	stores := make([]*ledger.SQLStore, instances)
	errs := make([]error, instances)
	var wg sync.WaitGroup
	for i := range instances {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = ledger.OpenPostgres(context.Background(), ledger.PostgresConfig{DSN: dsn})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("OpenPostgres of instance %d: %v", i, err)
			continue
		}
		defer stores[i].Close()
	}
	if t.Failed() {
		return
	}
	var applied int
	err := stores[0].DB().QueryRow(`SELECT count(*) FROM ledger_schema_version WHERE version_id > 0 AND is_applied`).Scan(&applied)
	if err != nil {
		t.Fatalf("read migration table: %v", err)
	}
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("list migrations: %v, %d files", err, len(files))
	}
	if applied != len(files) {
		t.Errorf("applied migrations recorded = %d, want %d, one per file in migrations", applied, len(files))
	}
}

func TestPostgresConfigErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		cfg     ledger.PostgresConfig
		want    string
		wantNot string
	}{
		{"empty DSN", ledger.PostgresConfig{}, "DSN is empty", ""},
		{"negative max conns", ledger.PostgresConfig{DSN: "host=x", MaxConns: -1}, "invalid max connections -1", ""},
		{"negative lock timeout", ledger.PostgresConfig{DSN: "host=x", FileLockTimeout: -time.Second}, "invalid file lock timeout", ""},
		{"unparsable DSN", ledger.PostgresConfig{DSN: "postgres://u:s3cret@[::1/db"}, "invalid DSN", "s3cret"},
		{"unreachable server", ledger.PostgresConfig{DSN: "postgres://u:s3cret@127.0.0.1:1/nodb?connect_timeout=2"}, "127.0.0.1:1/nodb", "s3cret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ledger.OpenPostgres(ctx, tt.cfg)
			if err == nil {
				s.Close()
				t.Fatalf("OpenPostgres succeeded, want an error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if tt.wantNot != "" && strings.Contains(err.Error(), tt.wantNot) {
				t.Errorf("error %q reveals %q", err, tt.wantNot)
			}
		})
	}
}

// takeLease takes name from l and fails the test unless it gets it.
func takeLease(t *testing.T, l ledger.Locker, name string) ledger.Lease {
	t.Helper()
	lease, ok, err := l.TryLock(context.Background(), name)
	if err != nil {
		t.Fatalf("TryLock %q: %v", name, err)
	}
	if !ok {
		t.Fatalf("TryLock %q: held elsewhere, want the lease", name)
	}
	return lease
}

// leaseHolders returns the backend pids that hold advisory locks in the
// current database.
func leaseHolders(t *testing.T, db *sql.DB) []int {
	t.Helper()
	rows, err := db.Query(`SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`)
	if err != nil {
		t.Fatalf("list advisory locks: %v", err)
	}
	defer rows.Close()
	var pids []int
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			t.Fatalf("list advisory locks: %v", err)
		}
		pids = append(pids, pid)
	}
	return pids
}

func TestPostgresLeaseLostOnBackendEnd(t *testing.T) {
	dsn := newPostgresDatabase(t)
	a := openPostgres(t, dsn)
	defer a.Close()
	b := openPostgres(t, dsn)
	defer b.Close()
	ctx := context.Background()

	lease := takeLease(t, a.Locker(), "channel ozon")
	defer lease.Release()
	if _, ok, err := b.Locker().TryLock(ctx, "channel ozon"); err != nil || ok {
		t.Fatalf("TryLock while held = %v, %v; want ok=false", ok, err)
	}

	// A crashed holder: the server ends the lease's session.
	pids := leaseHolders(t, b.DB())
	if len(pids) != 1 {
		t.Fatalf("advisory lock holders = %v, want one", pids)
	}
	var terminated bool
	if err := b.DB().QueryRow(`SELECT pg_terminate_backend($1)`, pids[0]).Scan(&terminated); err != nil || !terminated {
		t.Fatalf("pg_terminate_backend(%d) = %v, %v", pids[0], terminated, err)
	}

	select {
	case <-lease.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed 5s after the lease's session ended")
	}
	if err := lease.Err(); err == nil {
		t.Error("Err of the lost lease = nil, want the connection error")
	}
	next := takeLease(t, b.Locker(), "channel ozon")
	next.Release()
	lease.Release() // releasing a lost lease must do nothing
}

func TestPostgresLeaseReleasedOnClose(t *testing.T) {
	dsn := newPostgresDatabase(t)
	a := openPostgres(t, dsn)
	b := openPostgres(t, dsn)
	defer b.Close()

	lease := takeLease(t, a.Locker(), "channel wb")
	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case <-lease.Done():
	default:
		t.Error("Done not closed after the store closed")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		lease, ok, err := b.Locker().TryLock(context.Background(), "channel wb")
		if err != nil {
			t.Fatalf("TryLock: %v", err)
		}
		if ok {
			lease.Release()
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("lease still held 5s after its store closed")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestPostgresFileLockTimeout(t *testing.T) {
	dsn := newPostgresDatabase(t)
	a := openPostgres(t, dsn)
	defer a.Close()
	b, err := ledger.OpenPostgres(context.Background(), ledger.PostgresConfig{DSN: dsn, FileLockTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("OpenPostgres: %v", err)
	}
	defer b.Close()
	ctx := context.Background()

	doc := fileDoc("slow.xml")
	tx, err := a.BeginFile(ctx, doc, time.Now())
	if err != nil {
		t.Fatalf("BeginFile: %v", err)
	}
	defer tx.Rollback()
	start := time.Now()
	if _, err := b.BeginFile(ctx, fileDoc("waiting.xml"), time.Now()); err == nil {
		t.Fatal("second BeginFile succeeded while a file is open, want a lock timeout")
	} else if !strings.Contains(err.Error(), "another instance") {
		t.Errorf("error %q does not say that another instance holds the file lock", err)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Errorf("second BeginFile waited %v, want about the 200ms file lock timeout", waited)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	next, err := b.BeginFile(ctx, fileDoc("next.xml"), time.Now())
	if err != nil {
		t.Fatalf("BeginFile after the first file ended: %v", err)
	}
	if _, err := next.Commit(ctx); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

func fileDoc(file string) *model.Document {
	return &model.Document{File: file, Kind: model.KindOffers, Generated: time.Now(), ChangesOnly: true}
}

func TestLocalLocker(t *testing.T) {
	l := ledger.NewLocalLocker()
	lease := takeLease(t, l, "channel ozon")
	if _, ok, err := l.TryLock(context.Background(), "channel ozon"); err != nil || ok {
		t.Fatalf("TryLock while held = %v, %v; want ok=false", ok, err)
	}
	lease.Release()
	next := takeLease(t, l, "channel ozon")
	next.Release()

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := l.TryLock(ctx, "channel wb"); !errors.Is(err, context.Canceled) {
		t.Errorf("TryLock with a cancelled context: error %v, want context.Canceled", err)
	}
}

func TestPostgresLeaseFreedWhenHolderFreezes(t *testing.T) {
	dsn := newPostgresDatabase(t)
	a := openPostgres(t, dsn)
	defer a.Close()
	b := openPostgres(t, dsn)
	defer b.Close()

	// The holder stops talking but keeps its socket open, so only the
	// server's idle session timeout (1s for a 100ms check interval) ends it.
	lease := takeLease(t, a.Locker(), "channel ozon")
	defer lease.Release()
	ledger.StopLeaseChecks(lease)

	deadline := time.Now().Add(10 * time.Second)
	for {
		next, ok, err := b.Locker().TryLock(context.Background(), "channel ozon")
		if err != nil {
			t.Fatalf("TryLock: %v", err)
		}
		if ok {
			next.Release()
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("lease of a frozen holder still held after 10s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestPostgresLeaseAfterIdlePool(t *testing.T) {
	s := openPostgres(t, newPostgresDatabase(t))
	defer s.Close()

	// Release returns the lease's connection to the pool. Reused after
	// longer than the lease's idle session timeout, it must still work.
	takeLease(t, s.Locker(), "channel ozon").Release()
	time.Sleep(1500 * time.Millisecond)
	takeLease(t, s.Locker(), "channel ozon").Release()
}
