package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"obmenhub/hub/ledger"
)

// maxReservationLines caps the lines of one reservation request. It is a
// guard against runaway requests, not a measured limit of the stores.
const maxReservationLines = 1000

// ReservationsAPI serves stock reservations for channel orders under
// /api/v1/reservations.
type ReservationsAPI struct {
	Store ledger.Store
	// Log defaults to slog.Default().
	Log *slog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
	// OnChange, when set, receives the SKUs whose available stock a
	// request or ExpireDue changed, after the change is stored.
	OnChange func(skus []string)
	// CartTTL is how long a reservation whose request gives no ttl stays
	// active, as for an abandoned web-store cart. 0 means no expiry.
	CartTTL time.Duration
	// Limits, when set, returns how many units of each SKU the channel may
	// still reserve: what the channel shows, which a virtual warehouse may
	// cap below the stock. It returns ErrUnknownChannel for a channel that
	// is not configured. The store's own check of the total still applies.
	Limits func(ctx context.Context, channel string, skus []string) (map[string]int64, error)
}

// ErrUnknownChannel is returned by Limits for a channel that is not in the
// config.
var ErrUnknownChannel = errors.New("channel is not in the config")

// Register mounts the routes on r under /api/v1.
func (a *ReservationsAPI) Register(r fiber.Router) {
	v1 := r.Group("/api/v1")
	v1.Post("/reservations", a.create)
	v1.Get("/reservations/:channel/:order_id", a.get)
	v1.Post("/reservations/:channel/:order_id/release", a.release)
	v1.Post("/reservations/:channel/:order_id/commit", a.commit)
}

// ExpireDue ends the active reservations whose expiry has passed and
// announces their SKUs through OnChange. Stock of a passed expiry stays
// reserved until this runs, so the caller runs it periodically, such as
// once a minute.
func (a *ReservationsAPI) ExpireDue(ctx context.Context) error {
	expired, err := a.Store.Expire(ctx, a.now())
	if err != nil {
		a.log().Error("expire reservations failed", "err", err)
		return err
	}
	var skus []string
	for _, r := range expired {
		a.log().Info("reservation expired", "channel", r.Channel, "order_id", r.OrderID, "expires_at", r.ExpiresAt)
		skus = append(skus, lineSKUs(r.Lines)...)
	}
	a.changed(skus)
	return nil
}

func (a *ReservationsAPI) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *ReservationsAPI) log() *slog.Logger {
	if a.Log != nil {
		return a.Log
	}
	return slog.Default()
}

func (a *ReservationsAPI) changed(skus []string) {
	if a.OnChange != nil && len(skus) > 0 {
		a.OnChange(skus)
	}
}

func lineSKUs(lines []ledger.ReservationLine) []string {
	skus := make([]string, len(lines))
	for i, l := range lines {
		skus[i] = l.SKU
	}
	return skus
}

// reserveRequest is the body of POST /api/v1/reservations.
type reserveRequest struct {
	Channel string                   `json:"channel"`
	OrderID string                   `json:"order_id"`
	Lines   []ledger.ReservationLine `json:"lines"`
	// TTL is a Go duration such as "15m"; "0" means no expiry and an
	// absent ttl means CartTTL.
	TTL *string `json:"ttl"`
}

// shortageResponse is the 409 body of a reservation without enough stock.
type shortageResponse struct {
	Error     string            `json:"error"`
	Shortages []ledger.Shortage `json:"shortages"`
}

// create serves POST /api/v1/reservations: 201 with a new reservation, 200
// with the stored one when the order was reserved before.
func (a *ReservationsAPI) create(c *fiber.Ctx) error {
	var req reserveRequest
	dec := json.NewDecoder(bytes.NewReader(c.Body()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return fail(c, fiber.StatusBadRequest, "invalid JSON body: "+err.Error())
	}
	now := a.now()
	r, err := a.parseReservation(req, now)
	if err != nil {
		return fail(c, fiber.StatusBadRequest, err.Error())
	}

	if a.Limits != nil {
		if resp, status := a.checkLimits(c.UserContext(), r); status != 0 {
			return c.Status(status).JSON(resp)
		}
	}

	stored, err := a.Store.Reserve(c.UserContext(), r, now)
	var short *ledger.InsufficientError
	if errors.As(err, &short) {
		a.log().Info("reservation rejected for lack of stock", "channel", r.Channel, "order_id", r.OrderID, "err", err)
		return c.Status(fiber.StatusConflict).JSON(shortageResponse{Error: err.Error(), Shortages: short.Shortages})
	}
	if err != nil {
		a.log().Error("reserve failed", "channel", r.Channel, "order_id", r.OrderID, "err", err)
		return fail(c, fiber.StatusInternalServerError, "storing the reservation failed; see the hub log")
	}

	// Reserve stores now as the creation time of a reservation it creates,
	// so an older creation time means the order was reserved before.
	if !stored.CreatedAt.Equal(now) {
		if stored.Status != ledger.ReservationActive {
			// The order id was used by a reservation that has ended: it
			// holds nothing, and a client that read 200 would think it did.
			return fail(c, fiber.StatusConflict, fmt.Sprintf("order %q of channel %q was reserved before and is %s now; use a new order id",
				stored.OrderID, stored.Channel, stored.Status))
		}
		return c.Status(fiber.StatusOK).JSON(stored)
	}
	a.log().Info("reservation created", "channel", stored.Channel, "order_id", stored.OrderID, "lines", len(stored.Lines))
	a.changed(lineSKUs(stored.Lines))
	return c.Status(fiber.StatusCreated).JSON(stored)
}

// parseReservation validates req and returns the reservation to store.
// Errors name the request field.
func (a *ReservationsAPI) parseReservation(req reserveRequest, now time.Time) (ledger.Reservation, error) {
	r := ledger.Reservation{Channel: req.Channel, OrderID: req.OrderID, Lines: req.Lines}
	if r.Channel == "" {
		return r, errors.New("channel is missing; give the sales channel name, such as \"web\"")
	}
	if r.OrderID == "" {
		return r, errors.New("order_id is missing; give the channel's order id")
	}
	if len(r.Lines) == 0 {
		return r, errors.New("lines is empty; give at least one {\"sku\", \"qty\"}")
	}
	if len(r.Lines) > maxReservationLines {
		return r, fmt.Errorf("lines has %d entries; the maximum is %d", len(r.Lines), maxReservationLines)
	}
	first := make(map[string]int, len(r.Lines))
	for i, l := range r.Lines {
		if l.SKU == "" {
			return r, fmt.Errorf("lines[%d].sku is missing", i)
		}
		if l.Qty <= 0 {
			return r, fmt.Errorf("lines[%d].qty %d is invalid; use a whole number of at least 1", i, l.Qty)
		}
		if j, ok := first[l.SKU]; ok {
			return r, fmt.Errorf("lines[%d].sku %q repeats lines[%d]; give each SKU once with the total quantity", i, l.SKU, j)
		}
		first[l.SKU] = i
	}

	ttl := a.CartTTL
	if req.TTL != nil {
		d, err := time.ParseDuration(*req.TTL)
		if err != nil || d < 0 {
			return r, fmt.Errorf("ttl %q is invalid; use a duration such as \"15m\" or \"2h\", or \"0\" for no expiry", *req.TTL)
		}
		ttl = d
	}
	if ttl > 0 {
		r.ExpiresAt = now.Add(ttl)
	}
	return r, nil
}

// reservationKey reads the channel and order id from the path. Clients
// send '/' and '#' in an order id as %2F and %23.
func reservationKey(c *fiber.Ctx) (channel, orderID string, err error) {
	channel, err = url.PathUnescape(c.Params("channel"))
	if err != nil {
		return "", "", fmt.Errorf("invalid channel in path: %w", err)
	}
	orderID, err = url.PathUnescape(c.Params("order_id"))
	if err != nil {
		return "", "", fmt.Errorf("invalid order id in path: %w", err)
	}
	return channel, orderID, nil
}

// reservationReader reads one reservation. *ledger.SQLStore implements
// it; the ledger.Reservations interface has no such method.
type reservationReader interface {
	Reservation(ctx context.Context, channel, orderID string) (*ledger.Reservation, error)
}

// get serves GET /api/v1/reservations/{channel}/{order_id}.
func (a *ReservationsAPI) get(c *fiber.Ctx) error {
	channel, orderID, err := reservationKey(c)
	if err != nil {
		return fail(c, fiber.StatusBadRequest, err.Error())
	}
	reader, ok := a.Store.(reservationReader)
	if !ok {
		return fail(c, fiber.StatusNotImplemented, "this ledger store cannot read a single reservation")
	}
	r, err := reader.Reservation(c.UserContext(), channel, orderID)
	if errors.Is(err, ledger.ErrReservationNotFound) {
		return fail(c, fiber.StatusNotFound, notFoundMessage(channel, orderID))
	}
	if err != nil {
		a.log().Error("read reservation failed", "channel", channel, "order_id", orderID, "err", err)
		return fail(c, fiber.StatusInternalServerError, "reading the reservation failed; see the hub log")
	}
	return c.JSON(r)
}

func notFoundMessage(channel, orderID string) string {
	return "no reservation for order " + strconv.Quote(orderID) + " of channel " + strconv.Quote(channel) +
		"; check both (send '/' as %2F and '#' as %23)"
}

// release serves POST /api/v1/reservations/{channel}/{order_id}/release.
func (a *ReservationsAPI) release(c *fiber.Ctx) error {
	return a.endReservation(c, "release", a.Store.Release)
}

// commit serves POST /api/v1/reservations/{channel}/{order_id}/commit.
func (a *ReservationsAPI) commit(c *fiber.Ctx) error {
	return a.endReservation(c, "commit", a.Store.Commit)
}

// endReservation ends a reservation with op. It responds 200 with the
// reservation, also when op ended it before, 404 for an unknown order and
// 409 when the reservation ended another way.
func (a *ReservationsAPI) endReservation(c *fiber.Ctx, op string,
	end func(ctx context.Context, channel, orderID string, now time.Time) (*ledger.Reservation, error)) error {
	channel, orderID, err := reservationKey(c)
	if err != nil {
		return fail(c, fiber.StatusBadRequest, err.Error())
	}
	now := a.now()
	r, err := end(c.UserContext(), channel, orderID, now)
	switch {
	case errors.Is(err, ledger.ErrReservationNotFound):
		return fail(c, fiber.StatusNotFound, notFoundMessage(channel, orderID))
	case errors.Is(err, ledger.ErrReservationClosed):
		return fail(c, fiber.StatusConflict, err.Error())
	case err != nil:
		a.log().Error(op+" reservation failed", "channel", channel, "order_id", orderID, "err", err)
		return fail(c, fiber.StatusInternalServerError, op+" of the reservation failed; see the hub log")
	}

	// A reservation that op ended before keeps its older update time.
	if r.UpdatedAt.Equal(now) {
		a.log().Info("reservation "+r.Status, "channel", channel, "order_id", orderID)
		a.changed(lineSKUs(r.Lines))
	}
	return c.JSON(r)
}

// checkLimits compares a new reservation with what its channel may still
// reserve. It returns a response and its status when the reservation must
// be refused, and status 0 otherwise. A repeat of a stored reservation
// passes, so that idempotent retries keep working.
func (a *ReservationsAPI) checkLimits(ctx context.Context, r ledger.Reservation) (any, int) {
	if existing, err := a.Store.Reservation(ctx, r.Channel, r.OrderID); err == nil && existing != nil {
		return nil, 0
	}
	skus := lineSKUs(r.Lines)
	limits, err := a.Limits(ctx, r.Channel, skus)
	if errors.Is(err, ErrUnknownChannel) {
		return map[string]string{"error": fmt.Sprintf("channel %q is not in the config; use a configured channel name", r.Channel)}, fiber.StatusBadRequest
	}
	if err != nil {
		a.log().Error("read channel limits failed", "channel", r.Channel, "err", err)
		return map[string]string{"error": "reading the ledger failed; see the hub log"}, fiber.StatusInternalServerError
	}
	var short []ledger.Shortage
	for _, l := range r.Lines {
		if l.Qty > limits[l.SKU] {
			short = append(short, ledger.Shortage{SKU: l.SKU, Requested: l.Qty, Available: limits[l.SKU]})
		}
	}
	if len(short) == 0 {
		return nil, 0
	}
	err = &ledger.InsufficientError{Shortages: short}
	return shortageResponse{Error: err.Error() + " for channel " + r.Channel, Shortages: short}, fiber.StatusConflict
}
