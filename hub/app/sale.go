package app

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"obmenhub/adapters"
	"obmenhub/hub/ledger"
	"obmenhub/hub/model"
	"obmenhub/mapping/commerceml"
)

// orderID is the id an order has in 1C's order exchange: the channel and
// the channel's own order id.
func orderID(channel, external string) string { return channel + "#" + external }

// saveOrderFor1C keeps a reserved channel order for 1C's order exchange.
func (a *App) saveOrderFor1C(ctx context.Context, channel string, o adapters.Order, lines []ledger.ReservationLine, prices map[string]model.Decimal) error {
	doc := commerceml.Order{Channel: channel, ID: orderID(channel, o.ExternalID), Number: o.ExternalID,
		Date: o.CreatedAt, Currency: o.Currency, Status: o.VendorStatus}
	if doc.Date.IsZero() {
		doc.Date = a.clock.Now()
	}
	if doc.Currency == "" {
		doc.Currency = "RUB"
	}
	for _, l := range lines {
		// 1C shows the line's name; the offer's name from 1C is the one its
		// operator knows, and the SKU stands in when 1C gave none.
		name := l.SKU
		if v, err := a.Store.SKU(ctx, l.SKU); err == nil && v.Name != "" {
			name = v.Name
		}
		doc.Lines = append(doc.Lines, commerceml.OrderLine{SKU: l.SKU, Name: name, Qty: l.Qty, Price: prices[l.SKU]})
	}
	text, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("encode order %s: %w", doc.ID, err)
	}
	return a.Store.SaveOrder(ctx, ledger.StoredOrder{Channel: channel, OrderID: o.ExternalID, Doc: string(text), CreatedAt: a.clock.Now()})
}

// saleExporter serves 1C's order exchange (type=sale) from the ledger.
type saleExporter struct{ a *App }

// Pending returns the orders 1C has not confirmed, oldest first.
func (e saleExporter) Pending(ctx context.Context) ([]commerceml.Order, error) {
	stored, err := e.a.Store.PendingOrders(ctx, 500)
	if err != nil {
		return nil, err
	}
	out := make([]commerceml.Order, 0, len(stored))
	for _, s := range stored {
		var o commerceml.Order
		if err := json.Unmarshal([]byte(s.Doc), &o); err != nil {
			e.a.log.Error("stored order unreadable; skipped", "channel", s.Channel, "order", s.OrderID, "err", err)
			continue
		}
		out = append(out, o)
	}
	return out, nil
}

// Confirm records that 1C received the orders. From a later 1C package on,
// their reservations end (see ledger.Orders).
func (e saleExporter) Confirm(ctx context.Context, ids []string) error {
	stored, err := e.a.Store.PendingOrders(ctx, 10000)
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	var keys []ledger.OrderKey
	for _, s := range stored {
		if want[orderID(s.Channel, s.OrderID)] {
			keys = append(keys, ledger.OrderKey{Channel: s.Channel, OrderID: s.OrderID})
		}
	}
	e.a.log.Info("1C confirmed orders", "orders", len(keys))
	return e.a.Store.MarkExported(ctx, keys, e.a.clock.Now())
}

// ApplyStatuses releases the reservations of orders that 1C cancelled.
func (e saleExporter) ApplyStatuses(ctx context.Context, statuses []commerceml.OrderStatus) error {
	for _, st := range statuses {
		if st.Cancelled == nil || !*st.Cancelled {
			continue
		}
		channel, external, ok := splitOrderID(st.ID)
		if !ok {
			e.a.log.Warn("1C cancelled an order the hub does not know", "order", st.ID)
			continue
		}
		r, err := e.a.Store.Release(ctx, channel, external, e.a.clock.Now())
		if err != nil {
			e.a.log.Warn("release of an order 1C cancelled failed", "order", st.ID, "err", err)
			continue
		}
		e.a.log.Info("1C cancelled order; stock released", "channel", channel, "order", external)
		e.a.announce(reservationSKUs(r))
	}
	return nil
}

func splitOrderID(id string) (channel, external string, ok bool) {
	channel, external, ok = strings.Cut(id, "#")
	return channel, external, ok && channel != "" && external != ""
}

// reflectOrders ends the reservations of orders that 1C confirmed before
// the package generated at generated: 1C's stock in that package already
// counts them.
func (a *App) reflectOrders(ctx context.Context, generated time.Time) {
	keys, err := a.Store.ReflectOrders(ctx, generated, a.clock.Now())
	if err != nil {
		a.log.Error("end reservations of orders 1C has counted failed", "err", err)
		return
	}
	for _, k := range keys {
		r, err := a.Store.Commit(ctx, k.Channel, k.OrderID, a.clock.Now())
		if err != nil {
			a.log.Warn("commit reservation of an order 1C counted failed", "channel", k.Channel, "order", k.OrderID, "err", err)
			continue
		}
		a.log.Info("1C stock counts the order; reservation ended", "channel", k.Channel, "order", k.OrderID)
		a.announce(reservationSKUs(r))
	}
}
