-- The PostgreSQL ledger schema. It mirrors the SQLite schema in sqlite.go:
-- versions are stored as the package's generation time in Unix nanoseconds
-- (gen) and the hub's file sequence (seq), quantities and prices as decimal
-- text so that no value is rounded, and flags as 0 or 1 because the shared
-- SQL compares them with <> 0.
--
-- Keys and the columns compared with them use the "C" collation, so that
-- ORDER BY sku and sku > $n follow byte order, as in SQLite and Go, whatever
-- the database's default collation is.

-- +goose Up
CREATE TABLE files (
	seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	file TEXT NOT NULL,
	kind TEXT NOT NULL,
	generated BIGINT NOT NULL,
	changes_only SMALLINT NOT NULL,
	catalog_id TEXT NOT NULL,
	accepted_at BIGINT NOT NULL,
	-- published_at is when the file's changes were announced on the bus,
	-- 0 until then: the files table is the hub's transactional outbox.
	published_at BIGINT NOT NULL DEFAULT 0
);

CREATE INDEX files_unpublished ON files (seq) WHERE published_at = 0;

CREATE TABLE products (
	id TEXT COLLATE "C" PRIMARY KEY,
	name TEXT NOT NULL,
	article TEXT NOT NULL,
	barcode TEXT NOT NULL,
	catalog_id TEXT COLLATE "C" NOT NULL,
	deleted SMALLINT NOT NULL,
	gen BIGINT NOT NULL,
	seq BIGINT NOT NULL
);

CREATE INDEX products_seq ON products (seq);

-- One row per SKU: its stock levels and its prices are each stored as a
-- set with the version of the file that gave them, because a file lists an
-- offer's stock on all warehouses at once and its prices for all price
-- types at once.
CREATE TABLE offers (
	sku TEXT COLLATE "C" PRIMARY KEY,
	product_id TEXT COLLATE "C" NOT NULL,
	name TEXT NOT NULL,
	article TEXT NOT NULL,
	barcode TEXT NOT NULL,
	catalog_id TEXT COLLATE "C" NOT NULL,
	deleted SMALLINT NOT NULL,
	gen BIGINT NOT NULL,
	seq BIGINT NOT NULL,
	levels TEXT NOT NULL,
	stock_gen BIGINT NOT NULL,
	stock_seq BIGINT NOT NULL,
	prices TEXT NOT NULL,
	price_gen BIGINT NOT NULL,
	price_seq BIGINT NOT NULL,
	changed_seq BIGINT NOT NULL
);

-- changed_seq is the last file that changed what channels should show for
-- the SKU. The hub reads a file's changes back through this index.
CREATE INDEX offers_changed ON offers (changed_seq, sku);
CREATE INDEX offers_catalog ON offers (catalog_id);
CREATE INDEX offers_product ON offers (product_id);

CREATE TABLE channel_state (
	channel TEXT COLLATE "C" NOT NULL,
	sku TEXT COLLATE "C" NOT NULL,
	confirmed BIGINT,
	confirmed_at BIGINT NOT NULL,
	failed BIGINT,
	last_error TEXT NOT NULL,
	PRIMARY KEY (channel, sku)
);

CREATE TABLE dead_letters (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	channel TEXT NOT NULL,
	skus TEXT NOT NULL,
	reason TEXT NOT NULL,
	attempts INTEGER NOT NULL,
	last_error TEXT NOT NULL,
	-- message_id is the bus message a poison dead letter came from; one
	-- message is dead-lettered at most once.
	message_id TEXT NOT NULL DEFAULT '',
	payload TEXT NOT NULL,
	created_at BIGINT NOT NULL
);

CREATE UNIQUE INDEX dead_letters_message ON dead_letters (message_id) WHERE message_id <> '';

-- +goose Down
DROP TABLE dead_letters;
DROP TABLE channel_state;
DROP TABLE offers;
DROP TABLE products;
DROP TABLE files;
