-- Reservations hold stock for channel orders, mirroring the SQLite schema
-- in sqlite.go. Times are Unix nanoseconds, and expires_at is 0 for a
-- reservation that never expires.

-- +goose Up
CREATE TABLE reservations (
	channel TEXT COLLATE "C" NOT NULL,
	order_id TEXT COLLATE "C" NOT NULL,
	status TEXT NOT NULL,
	expires_at BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (channel, order_id)
);

-- Expire finds the active reservations that are due through this index.
CREATE INDEX reservations_due ON reservations (expires_at) WHERE status = 'active' AND expires_at <> 0;

-- active is 1 while the reservation is active. It copies the status onto
-- the lines so that the reserved quantity of a SKU is read from the
-- partial index below, without the lines of closed reservations.
CREATE TABLE reservation_lines (
	channel TEXT COLLATE "C" NOT NULL,
	order_id TEXT COLLATE "C" NOT NULL,
	sku TEXT COLLATE "C" NOT NULL,
	qty BIGINT NOT NULL,
	active SMALLINT NOT NULL,
	PRIMARY KEY (channel, order_id, sku),
	FOREIGN KEY (channel, order_id) REFERENCES reservations (channel, order_id)
);

CREATE INDEX reservation_lines_active ON reservation_lines (sku) WHERE active = 1;

-- +goose Down
DROP TABLE reservation_lines;
DROP TABLE reservations;
