package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// batchRows is how many rows one multi-row upsert carries. SQLite runs one
// statement of many rows several times faster than as many one-row
// statements, and 200 rows of up to 9 columns stay far below both
// databases' limits on bound parameters.
const batchRows = 200

// upsertBatch buffers rows for one multi-row INSERT … ON CONFLICT
// statement and sends them when batchRows are buffered or on flush.
type upsertBatch struct {
	tx   *sql.Tx
	s    *SQLStore
	head string // "INSERT INTO t(a, b) VALUES "
	tail string // " ON CONFLICT … "
	cols int
	args []any
	full *sql.Stmt // prepared for exactly batchRows rows
	// index maps a row's conflict key to its position in args, so that a
	// key repeated within one batch replaces the earlier row: PostgreSQL
	// rejects a statement that updates one row twice.
	index   map[string]int
	flushed int
}

func newUpsertBatch(ctx context.Context, tx *sql.Tx, s *SQLStore, head, tail string, cols int) (*upsertBatch, error) {
	b := &upsertBatch{tx: tx, s: s, head: head, tail: tail, cols: cols,
		args: make([]any, 0, cols*batchRows), index: make(map[string]int, batchRows)}
	st, err := tx.PrepareContext(ctx, b.query(batchRows))
	if err != nil {
		return nil, fmt.Errorf("ledger: prepare %s: %w", strings.TrimSpace(head), err)
	}
	b.full = st
	return b, nil
}

func (b *upsertBatch) query(rows int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", b.cols), ", ") + ")"
	return b.s.rebind(b.head + strings.TrimSuffix(strings.Repeat(row+", ", rows), ", ") + " " + b.tail)
}

// add buffers one row with conflict key key; its values must number cols.
func (b *upsertBatch) add(ctx context.Context, key string, values ...any) error {
	if i, ok := b.index[key]; ok {
		copy(b.args[i:i+b.cols], values)
		return nil
	}
	b.index[key] = len(b.args)
	b.args = append(b.args, values...)
	if len(b.args) == b.cols*batchRows {
		return b.flush(ctx)
	}
	return nil
}

func (b *upsertBatch) flush(ctx context.Context) error {
	rows := len(b.args) / b.cols
	if rows == 0 {
		return nil
	}
	var err error
	if rows == batchRows {
		_, err = b.full.ExecContext(ctx, b.args...)
	} else {
		_, err = b.tx.ExecContext(ctx, b.query(rows), b.args...)
	}
	b.args = b.args[:0]
	clear(b.index)
	b.flushed += rows
	return err
}

func (b *upsertBatch) close() {
	if b.full != nil {
		b.full.Close()
	}
}
