package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"obmenhub/hub/model"
)

// SQLStore implements Reservations with two tables. reservations holds one
// row per (channel, order id) with its status and times. reservation_lines
// holds one row per SKU of a reservation with a copy of whether the
// reservation is active, and a partial index on sku over the active lines.
// The reserved quantity of a SKU is summed from that index on every read,
// so no per-SKU counter exists that could drift from the lines.
//
// Reserve is atomic because every Reserve that touches a SKU runs one at a
// time with the others that touch it:
//   - SQLite opens every transaction with BEGIN IMMEDIATE (the _txlock
//     option of the DSN), so writers on one database file, from any
//     number of stores, run one after another.
//   - PostgreSQL takes a transaction-level advisory lock per SKU, in the
//     order of the lock keys, so two Reserve calls cannot deadlock. The
//     offer rows themselves are not locked: a file import holds their row
//     locks until it commits, which can take minutes, and it locks them in
//     file order, which would deadlock with a Reserve that holds some of
//     them. Reserve reads the levels of the last committed file instead.
//
// Release, Commit and Expire only free stock, so they take no SKU locks.
var _ Reservations = (*SQLStore)(nil)

// reservationLockPrefix prefixes a SKU to form its advisory lock name on
// PostgreSQL. A Locker lease whose name starts with it would share a lock
// key with reservations.
const reservationLockPrefix = "obmenhub reservation sku "

// Reserve implements Reservations. The stored lines are in SKU order.
//
// A repeated call returns the stored reservation as it is, whatever its
// status and even when the repeat requests other lines or another expiry.
// A reservation created by this call has CreatedAt equal to now, so a
// caller can tell the two cases apart.
//
// Stock held by an active reservation whose ExpiresAt has passed stays
// held until Expire ends it.
func (s *SQLStore) Reserve(ctx context.Context, r Reservation, now time.Time) (*Reservation, error) {
	lines, err := validateReservation(r)
	if err != nil {
		return nil, err
	}
	created := unixTime(now.UnixNano())
	out := &Reservation{Channel: r.Channel, OrderID: r.OrderID, Lines: lines, Status: ReservationActive,
		CreatedAt: created, UpdatedAt: created}
	var expiresAt int64
	if !r.ExpiresAt.IsZero() {
		expiresAt = r.ExpiresAt.UnixNano()
		out.ExpiresAt = unixTime(expiresAt)
	}

	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("ledger: reserve order %q of channel %q: %w", r.OrderID, r.Channel, err)
	}
	defer tx.Rollback()

	// The header goes in first. On PostgreSQL a concurrent Reserve of the
	// same order waits here until this transaction ends, before it holds
	// any SKU lock, and then finds the stored reservation.
	res, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO reservations(channel, order_id, status, expires_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (channel, order_id) DO NOTHING`),
		r.Channel, r.OrderID, ReservationActive, expiresAt, created.UnixNano(), created.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("ledger: reserve order %q of channel %q: %w", r.OrderID, r.Channel, err)
	}
	inserted, err := res.RowsAffected()
	if err != nil {
		return nil, fmt.Errorf("ledger: reserve order %q of channel %q: %w", r.OrderID, r.Channel, err)
	}
	if inserted == 0 {
		return s.readReservation(ctx, tx, r.Channel, r.OrderID)
	}

	skus := make([]string, len(lines))
	for i, l := range lines {
		skus[i] = l.SKU
	}
	if err := s.lockSKUs(ctx, tx, skus); err != nil {
		return nil, fmt.Errorf("ledger: reserve order %q of channel %q: %w", r.OrderID, r.Channel, err)
	}
	available, err := s.available(ctx, tx, skus)
	if err != nil {
		return nil, fmt.Errorf("ledger: reserve order %q of channel %q: %w", r.OrderID, r.Channel, err)
	}
	var shortages []Shortage
	for _, l := range lines {
		if a := available[l.SKU]; l.Qty > a {
			shortages = append(shortages, Shortage{SKU: l.SKU, Requested: l.Qty, Available: a})
		}
	}
	if len(shortages) > 0 {
		return nil, &InsufficientError{Shortages: shortages}
	}

	if err := s.insertLines(ctx, tx, r.Channel, r.OrderID, lines); err != nil {
		return nil, fmt.Errorf("ledger: reserve order %q of channel %q: %w", r.OrderID, r.Channel, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("ledger: reserve order %q of channel %q: commit: %w", r.OrderID, r.Channel, err)
	}
	return out, nil
}

// validateReservation checks r and returns its lines sorted by SKU.
func validateReservation(r Reservation) ([]ReservationLine, error) {
	if r.Channel == "" {
		return nil, errors.New("ledger: invalid reservation: channel is empty")
	}
	if r.OrderID == "" {
		return nil, fmt.Errorf("ledger: invalid reservation of channel %q: order id is empty", r.Channel)
	}
	if len(r.Lines) == 0 {
		return nil, fmt.Errorf("ledger: invalid reservation of order %q of channel %q: no lines", r.OrderID, r.Channel)
	}
	lines := slices.Clone(r.Lines)
	slices.SortFunc(lines, func(a, b ReservationLine) int { return strings.Compare(a.SKU, b.SKU) })
	for i, l := range lines {
		if l.SKU == "" {
			return nil, fmt.Errorf("ledger: invalid reservation of order %q of channel %q: a line has an empty SKU", r.OrderID, r.Channel)
		}
		if l.Qty <= 0 {
			return nil, fmt.Errorf("ledger: invalid reservation of order %q of channel %q: quantity %d of SKU %q is not positive",
				r.OrderID, r.Channel, l.Qty, l.SKU)
		}
		if i > 0 && lines[i-1].SKU == l.SKU {
			return nil, fmt.Errorf("ledger: invalid reservation of order %q of channel %q: SKU %q is on more than one line",
				r.OrderID, r.Channel, l.SKU)
		}
	}
	return lines, nil
}

// lockSKUs takes the PostgreSQL advisory lock of every SKU for the rest of
// tx, in ascending key order. On SQLite, tx already holds the write lock.
func (s *SQLStore) lockSKUs(ctx context.Context, tx *sql.Tx, skus []string) error {
	if s.dialect != dialectPostgres {
		return nil
	}
	keys := make([]int64, len(skus))
	for i, sku := range skus {
		keys[i] = lockKey(reservationLockPrefix + sku)
	}
	slices.Sort(keys)
	// Two SKUs whose keys collide share one lock, which is still correct.
	keys = slices.Compact(keys)
	// One statement per key, because PostgreSQL does not promise in which
	// order a single statement would call pg_advisory_xact_lock.
	for _, k := range keys {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, k); err != nil {
			return fmt.Errorf("lock SKUs: %w", err)
		}
	}
	return nil
}

// available returns the available stock of each SKU, never below 0. A
// SKU that the ledger does not know has 0.
func (s *SQLStore) available(ctx context.Context, q queryer, skus []string) (map[string]int64, error) {
	out := make(map[string]int64, len(skus))
	for _, part := range chunks(skus, 1000) {
		in, args := s.inList("sku", part)
		rows, err := q.QueryContext(ctx, s.rebind(`SELECT sku, levels FROM offers WHERE `+in), args...)
		if err != nil {
			return nil, fmt.Errorf("read stock: %w", err)
		}
		for rows.Next() {
			var sku, levels string
			if err := rows.Scan(&sku, &levels); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read stock: %w", err)
			}
			total, err := stockTotal(levels)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("stock of %s: %w", sku, err)
			}
			out[sku] = total
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read stock: %w", err)
		}
	}
	reserved, err := s.reserved(ctx, q, skus)
	if err != nil {
		return nil, err
	}
	for _, sku := range skus {
		// Stock can fall below what is reserved when a newer file from 1C
		// lowers it.
		out[sku] = max(out[sku]-reserved[sku], 0)
	}
	return out, nil
}

// stockTotal returns the sum of the stored levels, each counted as 0 when
// negative, rounded down to whole units as channels show stock.
func stockTotal(levels string) (int64, error) {
	decoded, err := decodeLevels(levels, model.Version{})
	if err != nil {
		return 0, err
	}
	var sum model.Decimal
	for _, l := range decoded {
		if l.Quantity.IsNeg() {
			continue
		}
		if sum.Decimal, err = sum.Add(l.Quantity.Decimal); err != nil {
			return 0, fmt.Errorf("sum levels: %w", err)
		}
	}
	return sum.Floor(), nil
}

// queryer is a *sql.DB or a *sql.Tx.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// reserved returns the active reserved quantity of each SKU that has any.
func (s *SQLStore) reserved(ctx context.Context, q queryer, skus []string) (map[string]int64, error) {
	out := make(map[string]int64)
	for _, part := range chunks(skus, 1000) {
		in, args := s.inList("sku", part)
		rows, err := q.QueryContext(ctx, s.rebind(`SELECT sku, SUM(qty) FROM reservation_lines
			WHERE active = 1 AND `+in+` GROUP BY sku`), args...)
		if err != nil {
			return nil, fmt.Errorf("read reserved stock: %w", err)
		}
		for rows.Next() {
			var sku string
			var qty int64
			if err := rows.Scan(&sku, &qty); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read reserved stock: %w", err)
			}
			out[sku] = qty
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read reserved stock: %w", err)
		}
	}
	return out, nil
}

// insertLines stores lines as active lines of the reservation, at most
// batchRows to a statement.
func (s *SQLStore) insertLines(ctx context.Context, tx *sql.Tx, channel, orderID string, lines []ReservationLine) error {
	for len(lines) > 0 {
		n := min(len(lines), batchRows)
		args := make([]any, 0, n*5)
		for _, l := range lines[:n] {
			args = append(args, channel, orderID, l.SKU, l.Qty, 1)
		}
		values := strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?), ", n), ", ")
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO reservation_lines(channel, order_id, sku, qty, active) VALUES `+values), args...); err != nil {
			return fmt.Errorf("store lines: %w", err)
		}
		lines = lines[n:]
	}
	return nil
}

// Release implements Reservations.
func (s *SQLStore) Release(ctx context.Context, channel, orderID string, now time.Time) (*Reservation, error) {
	return s.closeReservation(ctx, channel, orderID, ReservationReleased, now)
}

// Commit implements Reservations.
func (s *SQLStore) Commit(ctx context.Context, channel, orderID string, now time.Time) (*Reservation, error) {
	return s.closeReservation(ctx, channel, orderID, ReservationCommitted, now)
}

// closeReservation moves an active reservation to status. A reservation
// that already has status is returned unchanged. An active reservation
// whose ExpiresAt has passed but that Expire has not ended yet can still
// be closed.
func (s *SQLStore) closeReservation(ctx context.Context, channel, orderID, status string, now time.Time) (*Reservation, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("ledger: mark the reservation of order %q of channel %q as %s: %w", orderID, channel, status, err)
	}
	defer tx.Rollback()

	// The status condition makes two concurrent calls on PostgreSQL change
	// the row once: the second waits for the first and then matches nothing.
	res, err := tx.ExecContext(ctx, s.rebind(`UPDATE reservations SET status = ?, updated_at = ?
		WHERE channel = ? AND order_id = ? AND status = ?`), status, now.UnixNano(), channel, orderID, ReservationActive)
	if err != nil {
		return nil, fmt.Errorf("ledger: mark the reservation of order %q of channel %q as %s: %w", orderID, channel, status, err)
	}
	changed, err := res.RowsAffected()
	if err != nil {
		return nil, fmt.Errorf("ledger: mark the reservation of order %q of channel %q as %s: %w", orderID, channel, status, err)
	}
	if changed == 0 {
		stored, err := s.readReservation(ctx, tx, channel, orderID)
		if err != nil {
			return nil, err
		}
		if stored.Status != status {
			return nil, fmt.Errorf("ledger: cannot mark the reservation of order %q of channel %q as %s because it is %s: %w",
				orderID, channel, status, stored.Status, ErrReservationClosed)
		}
		return stored, nil
	}

	if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE reservation_lines SET active = 0 WHERE channel = ? AND order_id = ?`),
		channel, orderID); err != nil {
		return nil, fmt.Errorf("ledger: mark the reservation of order %q of channel %q as %s: free lines: %w", orderID, channel, status, err)
	}
	out, err := s.readReservation(ctx, tx, channel, orderID)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("ledger: mark the reservation of order %q of channel %q as %s: commit: %w", orderID, channel, status, err)
	}
	return out, nil
}

// Expire implements Reservations. It returns the expired reservations in
// (channel, order id) order. When instances sharing a PostgreSQL database
// call it at once, the UPDATE of the second waits for the first and then
// skips the rows that are no longer active, so no reservation is returned
// twice.
func (s *SQLStore) Expire(ctx context.Context, now time.Time) ([]Reservation, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("ledger: expire reservations: %w", err)
	}
	defer tx.Rollback()

	rows, err := tx.QueryContext(ctx, s.rebind(`UPDATE reservations SET status = ?, updated_at = ?
		WHERE status = ? AND expires_at <> 0 AND expires_at < ?
		RETURNING channel, order_id`), ReservationExpired, now.UnixNano(), ReservationActive, now.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("ledger: expire reservations: %w", err)
	}
	type key struct{ channel, orderID string }
	var keys []key
	for rows.Next() {
		var k key
		if err := rows.Scan(&k.channel, &k.orderID); err != nil {
			rows.Close()
			return nil, fmt.Errorf("ledger: expire reservations: %w", err)
		}
		keys = append(keys, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ledger: expire reservations: %w", err)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmpJoin(strings.Compare(a.channel, b.channel), strings.Compare(a.orderID, b.orderID))
	})

	out := make([]Reservation, 0, len(keys))
	for _, k := range keys {
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE reservation_lines SET active = 0 WHERE channel = ? AND order_id = ?`),
			k.channel, k.orderID); err != nil {
			return nil, fmt.Errorf("ledger: expire order %q of channel %q: free lines: %w", k.orderID, k.channel, err)
		}
		r, err := s.readReservation(ctx, tx, k.channel, k.orderID)
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("ledger: expire reservations: commit: %w", err)
	}
	return out, nil
}

func cmpJoin(first, second int) int {
	if first != 0 {
		return first
	}
	return second
}

// Reserved implements Reservations.
func (s *SQLStore) Reserved(ctx context.Context, skus []string) (map[string]int64, error) {
	out, err := s.reserved(ctx, s.db, skus)
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	return out, nil
}

// ReservationsOf implements Reservations. It returns them in (channel,
// order id) order.
func (s *SQLStore) ReservationsOf(ctx context.Context, sku string) ([]Reservation, error) {
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT r.channel, r.order_id, r.status, r.expires_at, r.created_at, r.updated_at, l.sku, l.qty
		FROM reservation_lines a
		JOIN reservations r ON r.channel = a.channel AND r.order_id = a.order_id
		JOIN reservation_lines l ON l.channel = a.channel AND l.order_id = a.order_id
		WHERE a.sku = ? AND a.active = 1
		ORDER BY r.channel, r.order_id, l.sku`), sku)
	if err != nil {
		return nil, fmt.Errorf("ledger: list reservations of SKU %q: %w", sku, err)
	}
	out, err := scanReservations(rows)
	if err != nil {
		return nil, fmt.Errorf("ledger: list reservations of SKU %q: %w", sku, err)
	}
	return out, nil
}

// Reservation returns the reservation of an order, or an error that wraps
// ErrReservationNotFound.
func (s *SQLStore) Reservation(ctx context.Context, channel, orderID string) (*Reservation, error) {
	return s.readReservation(ctx, s.db, channel, orderID)
}

func (s *SQLStore) readReservation(ctx context.Context, q queryer, channel, orderID string) (*Reservation, error) {
	rows, err := q.QueryContext(ctx, s.rebind(`SELECT r.channel, r.order_id, r.status, r.expires_at, r.created_at, r.updated_at, l.sku, l.qty
		FROM reservations r
		LEFT JOIN reservation_lines l ON l.channel = r.channel AND l.order_id = r.order_id
		WHERE r.channel = ? AND r.order_id = ?
		ORDER BY l.sku`), channel, orderID)
	if err != nil {
		return nil, fmt.Errorf("ledger: read order %q of channel %q: %w", orderID, channel, err)
	}
	found, err := scanReservations(rows)
	if err != nil {
		return nil, fmt.Errorf("ledger: read order %q of channel %q: %w", orderID, channel, err)
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("ledger: order %q of channel %q: %w", orderID, channel, ErrReservationNotFound)
	}
	return &found[0], nil
}

// scanReservations reads rows of (channel, order_id, status, expires_at,
// created_at, updated_at, sku, qty), ordered so that the lines of one
// reservation are adjacent, and closes rows. sku and qty may be NULL for
// a reservation without lines.
func scanReservations(rows *sql.Rows) ([]Reservation, error) {
	defer rows.Close()
	out := []Reservation{}
	for rows.Next() {
		var r Reservation
		var expiresAt, createdAt, updatedAt int64
		var sku sql.NullString
		var qty sql.NullInt64
		if err := rows.Scan(&r.Channel, &r.OrderID, &r.Status, &expiresAt, &createdAt, &updatedAt, &sku, &qty); err != nil {
			return nil, err
		}
		last := len(out) - 1
		if last < 0 || out[last].Channel != r.Channel || out[last].OrderID != r.OrderID {
			if expiresAt != 0 {
				r.ExpiresAt = unixTime(expiresAt)
			}
			r.CreatedAt = unixTime(createdAt)
			r.UpdatedAt = unixTime(updatedAt)
			r.Lines = []ReservationLine{}
			out = append(out, r)
			last++
		}
		if sku.Valid {
			out[last].Lines = append(out[last].Lines, ReservationLine{SKU: sku.String, Qty: qty.Int64})
		}
	}
	return out, rows.Err()
}

func unixTime(ns int64) time.Time { return time.Unix(0, ns).UTC() }
