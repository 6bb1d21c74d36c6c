-- Orders the hub took from channels, kept for 1C's order exchange. doc is
-- the order as JSON; exported_at is when 1C confirmed receiving it and
-- reflected_at when a later 1C package showed it in stock, both Unix
-- nanoseconds and 0 until then.

-- +goose Up
CREATE TABLE orders (
	channel TEXT COLLATE "C" NOT NULL,
	order_id TEXT COLLATE "C" NOT NULL,
	doc TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	exported_at BIGINT NOT NULL DEFAULT 0,
	reflected_at BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (channel, order_id)
);

CREATE INDEX orders_pending ON orders (created_at) WHERE exported_at = 0;

-- +goose Down
DROP TABLE orders;
