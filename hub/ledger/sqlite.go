package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// SQLiteConfig configures the embedded SQLite ledger.
type SQLiteConfig struct {
	// Path is the database file. Its directory is created if missing.
	// Required.
	Path string
	// BusyTimeout is how long a writer waits for another writer's lock.
	// Default 2 minutes, because one large package holds the write lock
	// for the whole of its import.
	BusyTimeout time.Duration
}

func (c *SQLiteConfig) setDefaults() {
	if c.BusyTimeout == 0 {
		c.BusyTimeout = 2 * time.Minute
	}
}

func (c *SQLiteConfig) validate() error {
	if c.Path == "" {
		return fmt.Errorf("sqlite ledger: path is empty; set store.path in the config")
	}
	return nil
}

// OpenSQLite opens (creating if needed) the SQLite ledger at cfg.Path and
// brings its schema up to date.
//
// The database runs in WAL mode with synchronous=FULL: a committed file
// survives a process crash and a power loss.
func OpenSQLite(ctx context.Context, cfg SQLiteConfig) (*SQLStore, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if dir := filepath.Dir(cfg.Path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("sqlite ledger: create directory %s: %w", dir, err)
		}
	}
	dsn := fmt.Sprintf("file:%s?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(%d)&_pragma=cache_size(-8192)&_pragma=temp_store(memory)&_txlock=immediate",
		cfg.Path, cfg.BusyTimeout.Milliseconds())
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite ledger: open %s: %w", cfg.Path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite ledger: open %s: %w", cfg.Path, err)
	}
	s := &SQLStore{db: db, dialect: dialectSQLite, locker: localLockerFor(cfg.Path)}
	if err := s.migrate(ctx, sqliteSchema); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// sqliteSchema is the SQLite schema. Versions are stored as the package's
// generation time in Unix nanoseconds (gen) and the hub's file sequence
// (seq). Quantities and prices are decimal text, so no value is rounded.
var sqliteSchema = []string{
	`CREATE TABLE IF NOT EXISTS files (
		seq INTEGER PRIMARY KEY AUTOINCREMENT,
		file TEXT NOT NULL,
		kind TEXT NOT NULL,
		generated INTEGER NOT NULL,
		changes_only INTEGER NOT NULL,
		catalog_id TEXT NOT NULL,
		accepted_at INTEGER NOT NULL,
		published_at INTEGER NOT NULL DEFAULT 0
	)`,
	// published_at is when the file's changes were announced on the bus, 0
	// until then: the files table is the hub's transactional outbox.
	`CREATE INDEX IF NOT EXISTS files_unpublished ON files(seq) WHERE published_at = 0`,
	`CREATE TABLE IF NOT EXISTS products (
		id TEXT PRIMARY KEY,
		name TEXT NOT NULL,
		article TEXT NOT NULL,
		barcode TEXT NOT NULL,
		catalog_id TEXT NOT NULL,
		deleted INTEGER NOT NULL,
		gen INTEGER NOT NULL,
		seq INTEGER NOT NULL
	)`,
	`CREATE INDEX IF NOT EXISTS products_seq ON products(seq)`,
	// One row per SKU. Its stock levels and its prices are each stored as
	// a set with the version of the file that gave them, because a file
	// lists an offer's stock on all warehouses at once and its prices for
	// all price types at once. Writing one row per SKU instead of one per
	// warehouse and price made a large ingest about three times faster
	// (docs/benchmarks.md).
	`CREATE TABLE IF NOT EXISTS offers (
		sku TEXT PRIMARY KEY,
		product_id TEXT NOT NULL,
		name TEXT NOT NULL,
		article TEXT NOT NULL,
		barcode TEXT NOT NULL,
		catalog_id TEXT NOT NULL,
		deleted INTEGER NOT NULL,
		gen INTEGER NOT NULL,
		seq INTEGER NOT NULL,
		levels TEXT NOT NULL,
		stock_gen INTEGER NOT NULL,
		stock_seq INTEGER NOT NULL,
		prices TEXT NOT NULL,
		price_gen INTEGER NOT NULL,
		price_seq INTEGER NOT NULL,
		changed_seq INTEGER NOT NULL
	)`,
	// changed_seq is the last file that changed what channels should show
	// for the SKU: its stock, its deletion mark or its product's. The hub
	// announces a file's changes by reading them back through this index,
	// so that memory does not grow with the size of the file.
	`CREATE INDEX IF NOT EXISTS offers_changed ON offers(changed_seq, sku)`,
	`CREATE INDEX IF NOT EXISTS offers_catalog ON offers(catalog_id)`,
	`CREATE INDEX IF NOT EXISTS offers_product ON offers(product_id)`,
	`CREATE TABLE IF NOT EXISTS channel_state (
		channel TEXT NOT NULL,
		sku TEXT NOT NULL,
		confirmed INTEGER,
		confirmed_at INTEGER NOT NULL,
		failed INTEGER,
		last_error TEXT NOT NULL,
		PRIMARY KEY (channel, sku)
	)`,
	`CREATE TABLE IF NOT EXISTS dead_letters (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		channel TEXT NOT NULL,
		skus TEXT NOT NULL,
		reason TEXT NOT NULL,
		attempts INTEGER NOT NULL,
		last_error TEXT NOT NULL,
		message_id TEXT NOT NULL DEFAULT '',
		payload TEXT NOT NULL,
		created_at INTEGER NOT NULL
	)`,
	// One bus message is dead-lettered at most once.
	`CREATE UNIQUE INDEX IF NOT EXISTS dead_letters_message ON dead_letters(message_id) WHERE message_id <> ''`,
	// Reservations hold stock for channel orders. expires_at is 0 for a
	// reservation that never expires.
	// Orders for 1C's order exchange; see migrations/00004_orders.sql.
	`CREATE TABLE IF NOT EXISTS orders (
		channel TEXT NOT NULL,
		order_id TEXT NOT NULL,
		doc TEXT NOT NULL,
		created_at INTEGER NOT NULL,
		exported_at INTEGER NOT NULL DEFAULT 0,
		reflected_at INTEGER NOT NULL DEFAULT 0,
		PRIMARY KEY (channel, order_id)
	)`,
	`CREATE INDEX IF NOT EXISTS orders_pending ON orders(created_at) WHERE exported_at = 0`,
	// Named positions kept across restarts, in Unix nanoseconds.
	`CREATE TABLE IF NOT EXISTS cursors (
		name TEXT PRIMARY KEY,
		value INTEGER NOT NULL
	)`,
	`CREATE TABLE IF NOT EXISTS reservations (
		channel TEXT NOT NULL,
		order_id TEXT NOT NULL,
		status TEXT NOT NULL,
		expires_at INTEGER NOT NULL,
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL,
		PRIMARY KEY (channel, order_id)
	)`,
	`CREATE INDEX IF NOT EXISTS reservations_due ON reservations(expires_at) WHERE status = 'active' AND expires_at <> 0`,
	// active copies the reservation's status onto its lines (1 while
	// active), so that the reserved quantity of a SKU is read from the
	// partial index below, without the lines of closed reservations.
	`CREATE TABLE IF NOT EXISTS reservation_lines (
		channel TEXT NOT NULL,
		order_id TEXT NOT NULL,
		sku TEXT NOT NULL,
		qty INTEGER NOT NULL,
		active INTEGER NOT NULL,
		PRIMARY KEY (channel, order_id, sku),
		FOREIGN KEY (channel, order_id) REFERENCES reservations(channel, order_id)
	)`,
	`CREATE INDEX IF NOT EXISTS reservation_lines_active ON reservation_lines(sku) WHERE active = 1`,
}

func (s *SQLStore) migrate(ctx context.Context, stmts []string) error {
	for _, q := range stmts {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("ledger: migrate schema: %w", err)
		}
	}
	return nil
}
