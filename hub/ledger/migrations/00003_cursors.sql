-- Cursors keep named positions across restarts, such as how far the hub
-- has read a channel's orders. value is Unix nanoseconds.

-- +goose Up
CREATE TABLE cursors (
	name TEXT COLLATE "C" PRIMARY KEY,
	value BIGINT NOT NULL
);

-- +goose Down
DROP TABLE cursors;
