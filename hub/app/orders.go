package app

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"obmenhub/adapters"
	"obmenhub/hub/ledger"
	"obmenhub/hub/model"
)

// orderOverlap is how far before its cursor the hub reads a channel's
// orders again: vendors index changes a little late, and repeats cost
// nothing because a reservation exists once per order.
const orderOverlap = 10 * time.Minute

// pollOrders reads the channel's orders every interval while this
// instance leads the channel, until ctx ends: a new order reserves its
// stock and a cancelled one releases it, and either change reaches every
// channel at once.
func (a *App) pollOrders(ctx context.Context, run *channelRun, src adapters.OrderSource, every time.Duration, log *slog.Logger) {
	cursorName := "orders:" + run.name
	for ctx.Err() == nil {
		if err := a.readOrders(ctx, run, src, cursorName, log); err != nil && ctx.Err() == nil {
			log.Error("read channel orders failed; will retry", "err", err)
		}
		a.sleep(ctx, every)
	}
}

func (a *App) readOrders(ctx context.Context, run *channelRun, src adapters.OrderSource, cursorName string, log *slog.Logger) error {
	cursor, err := a.Store.Cursor(ctx, cursorName)
	if err != nil {
		return err
	}
	since := cursor.Add(-orderOverlap)
	if cursor.IsZero() {
		// A first read looks one day back, not at the channel's history.
		since = a.clock.Now().Add(-24 * time.Hour)
	}
	orders, err := src.FetchOrders(ctx, since.UTC())
	if err != nil {
		return err
	}
	latest := cursor
	for _, o := range orders {
		if err := a.takeOrder(ctx, run, o, log); err != nil {
			// The cursor stays before this order, so the next read sees it
			// again.
			return err
		}
		if o.UpdatedAt.After(latest) {
			latest = o.UpdatedAt
		}
	}
	if latest.After(cursor) {
		return a.Store.SetCursor(ctx, cursorName, latest)
	}
	return nil
}

// takeOrder applies one order: reserve its lines when it is new or
// shipped, release them when it is cancelled.
func (a *App) takeOrder(ctx context.Context, run *channelRun, o adapters.Order, log *slog.Logger) error {
	log = log.With("order", o.ExternalID, "status", o.VendorStatus)
	now := a.clock.Now()
	if o.Status == adapters.OrderCancelled {
		r, err := a.Store.Release(ctx, run.name, o.ExternalID, now)
		switch {
		case errors.Is(err, ledger.ErrReservationNotFound), errors.Is(err, ledger.ErrReservationClosed):
			return nil
		case err != nil:
			return err
		}
		log.Info("order cancelled; stock released")
		a.announce(reservationSKUs(r))
		return nil
	}

	lines, prices, err := a.orderLines(ctx, run, o)
	if err != nil {
		return a.deadLetterOrder(ctx, run, o, "order lines not bound to 1C SKUs", err, log)
	}
	r, err := a.Store.Reserve(ctx, ledger.Reservation{Channel: run.name, OrderID: o.ExternalID, Lines: lines}, now)
	var short *ledger.InsufficientError
	if errors.As(err, &short) {
		// The channel sold what the hub no longer had: support must act.
		return a.deadLetterOrder(ctx, run, o, "order exceeds available stock (oversold)", err, log)
	}
	if err != nil {
		return err
	}
	if r.CreatedAt.Equal(now) {
		log.Info("order reserved", "lines", len(lines))
		a.announce(reservationSKUs(r))
	}
	return a.saveOrderFor1C(ctx, run.name, o, lines, prices)
}

// orderLines maps an order's channel ids onto 1C SKUs through the
// channel's stock binding.
func (a *App) orderLines(ctx context.Context, run *channelRun, o adapters.Order) ([]ledger.ReservationLine, map[string]model.Decimal, error) {
	binder := run.workers[0].Binder()
	qty := map[string]int64{}
	prices := map[string]model.Decimal{}
	var order []string
	for _, l := range o.Lines {
		skus, err := binder.SKUsFor(ctx, a.Store, l.ExternalID)
		if err != nil {
			return nil, nil, err
		}
		if len(skus) != 1 {
			return nil, nil, fmt.Errorf("channel id %q matches %d SKUs (%s); fix the channel's binding",
				l.ExternalID, len(skus), strings.Join(skus, ", "))
		}
		if _, seen := qty[skus[0]]; !seen {
			order = append(order, skus[0])
			prices[skus[0]] = l.Price
		}
		qty[skus[0]] += l.Qty
	}
	known, err := a.Store.Stock(ctx, order)
	if err != nil {
		return nil, nil, err
	}
	lines := make([]ledger.ReservationLine, len(order))
	for i, sku := range order {
		if known[sku] == nil {
			return nil, nil, fmt.Errorf("SKU %q of the order is not in the ledger; 1C has not sent it", sku)
		}
		lines[i] = ledger.ReservationLine{SKU: sku, Qty: qty[sku]}
	}
	return lines, prices, nil
}

// deadLetterOrder records an order the hub cannot reserve, once per order,
// and lets the poll go on.
func (a *App) deadLetterOrder(ctx context.Context, run *channelRun, o adapters.Order, reason string, cause error, log *slog.Logger) error {
	id, err := a.Store.AddDeadLetter(ctx, ledger.DeadLetter{
		Channel:   run.name,
		Reason:    reason,
		Attempts:  1,
		LastError: cause.Error(),
		MessageID: run.name + "/order/" + o.ExternalID,
		Payload:   fmt.Sprintf("%+v", o),
		CreatedAt: a.clock.Now(),
	})
	if err != nil {
		return err
	}
	if id != 0 {
		log.Error("order dead-lettered", "reason", reason, "dead_letter", id, "err", cause)
	}
	return nil
}

func reservationSKUs(r *ledger.Reservation) []string {
	skus := make([]string, len(r.Lines))
	for i, l := range r.Lines {
		skus[i] = l.SKU
	}
	return skus
}

// orderSource returns the channel's order source, or nil.
func orderSource(p adapters.StockPusher) adapters.OrderSource {
	src, _ := p.(adapters.OrderSource)
	return src
}

// orderWebhook takes an order that a channel pushes, as InSales order
// webhooks do: the same path as a polled order, at once.
func (a *App) orderWebhook(c *fiber.Ctx) error {
	name := c.Params("name")
	var run *channelRun
	for _, r := range a.channels {
		if r.name == name && r.webhook != nil {
			run = r
		}
	}
	if run == nil {
		return c.Status(fiber.StatusNotFound).JSON(fiber.Map{"error": "channel " + name + " takes no order webhooks; set orders.webhook_token_env on it"})
	}
	if subtle.ConstantTimeCompare([]byte(c.Query("token")), []byte(run.webhookToken)) != 1 {
		a.log.Warn("order webhook with a wrong token", "channel", name, "remote", c.IP())
		return c.Status(fiber.StatusUnauthorized).JSON(fiber.Map{"error": "wrong token"})
	}
	o, err := run.webhook.ParseWebhookOrder(c.Body())
	if err != nil {
		return c.Status(fiber.StatusBadRequest).JSON(fiber.Map{"error": err.Error()})
	}
	log := a.log.With("channel", name)
	if err := a.takeOrder(c.UserContext(), run, o, log); err != nil {
		log.Error("order webhook failed", "order", o.ExternalID, "err", err)
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"error": "the order was not stored; send it again"})
	}
	return c.JSON(fiber.Map{"order": o.ExternalID, "status": o.Status})
}
