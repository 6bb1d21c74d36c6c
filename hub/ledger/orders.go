package ledger

import (
	"context"
	"fmt"
	"time"
)

// StoredOrder is an order the hub took from a channel, kept until 1C has
// it. Doc is the order as JSON, in the shape the order exchange writes.
type StoredOrder struct {
	Channel    string
	OrderID    string
	Doc        string
	CreatedAt  time.Time
	ExportedAt time.Time
}

// OrderKey names one order.
type OrderKey struct {
	Channel string
	OrderID string
}

// Orders keeps channel orders for 1C's order exchange (type=sale).
//
// The rule that ends an order's reservation: 1C confirms receiving the
// order (success after query), and later sends a package generated after
// that confirmation. From then on 1C's stock reflects the order, so the
// reservation is committed: counting both would subtract the order twice,
// and committing earlier would leave a gap in which the units show as
// free.
type Orders interface {
	// SaveOrder stores an order once; a repeat keeps the first.
	SaveOrder(ctx context.Context, o StoredOrder) error
	// PendingOrders returns up to limit orders that 1C has not confirmed,
	// oldest first.
	PendingOrders(ctx context.Context, limit int) ([]StoredOrder, error)
	// MarkExported records that 1C confirmed receiving the orders at at.
	MarkExported(ctx context.Context, keys []OrderKey, at time.Time) error
	// ReflectOrders marks every order that 1C confirmed before generated
	// as reflected in 1C's stock, and returns them.
	ReflectOrders(ctx context.Context, generated time.Time, now time.Time) ([]OrderKey, error)
}

var _ Orders = (*SQLStore)(nil)

// SaveOrder implements Orders.
func (s *SQLStore) SaveOrder(ctx context.Context, o StoredOrder) error {
	_, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO orders(channel, order_id, doc, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (channel, order_id) DO NOTHING`), o.Channel, o.OrderID, o.Doc, o.CreatedAt.UnixNano())
	if err != nil {
		return fmt.Errorf("ledger: store order %q of channel %q: %w", o.OrderID, o.Channel, err)
	}
	return nil
}

// PendingOrders implements Orders.
func (s *SQLStore) PendingOrders(ctx context.Context, limit int) ([]StoredOrder, error) {
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT channel, order_id, doc, created_at FROM orders
		WHERE exported_at = 0 ORDER BY created_at, channel, order_id LIMIT ?`), limit)
	if err != nil {
		return nil, fmt.Errorf("ledger: list orders for 1C: %w", err)
	}
	defer rows.Close()
	var out []StoredOrder
	for rows.Next() {
		var o StoredOrder
		var created int64
		if err := rows.Scan(&o.Channel, &o.OrderID, &o.Doc, &created); err != nil {
			return nil, fmt.Errorf("ledger: list orders for 1C: %w", err)
		}
		o.CreatedAt = time.Unix(0, created).UTC()
		out = append(out, o)
	}
	return out, rows.Err()
}

// MarkExported implements Orders.
func (s *SQLStore) MarkExported(ctx context.Context, keys []OrderKey, at time.Time) error {
	for _, k := range keys {
		_, err := s.db.ExecContext(ctx, s.rebind(`UPDATE orders SET exported_at = ? WHERE channel = ? AND order_id = ? AND exported_at = 0`),
			at.UnixNano(), k.Channel, k.OrderID)
		if err != nil {
			return fmt.Errorf("ledger: mark order %q of channel %q exported: %w", k.OrderID, k.Channel, err)
		}
	}
	return nil
}

// ReflectOrders implements Orders.
func (s *SQLStore) ReflectOrders(ctx context.Context, generated time.Time, now time.Time) ([]OrderKey, error) {
	rows, err := s.db.QueryContext(ctx, s.rebind(`UPDATE orders SET reflected_at = ?
		WHERE reflected_at = 0 AND exported_at <> 0 AND exported_at < ? RETURNING channel, order_id`),
		now.UnixNano(), generated.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("ledger: mark orders reflected: %w", err)
	}
	defer rows.Close()
	var out []OrderKey
	for rows.Next() {
		var k OrderKey
		if err := rows.Scan(&k.Channel, &k.OrderID); err != nil {
			return nil, fmt.Errorf("ledger: mark orders reflected: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}
