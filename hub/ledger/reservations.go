package ledger

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Reservation states.
const (
	ReservationActive    = "active"
	ReservationReleased  = "released"
	ReservationCommitted = "committed"
	ReservationExpired   = "expired"
)

// Reservation holds stock for one order of one channel until the order is
// committed (1C's stock reflects it), released or expired.
type Reservation struct {
	Channel string            `json:"channel"`
	OrderID string            `json:"order_id"`
	Lines   []ReservationLine `json:"lines"`
	Status  string            `json:"status"`
	// ExpiresAt ends an active reservation that is never committed, such as an
	// abandoned web-store cart; zero means never.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ReservationLine is a quantity of one SKU.
type ReservationLine struct {
	SKU string `json:"sku"`
	Qty int64  `json:"qty"`
}

// Shortage is a line that cannot be reserved: what was asked and what is
// available.
type Shortage struct {
	SKU       string `json:"sku"`
	Requested int64  `json:"requested"`
	Available int64  `json:"available"`
}

// InsufficientError is returned by Reserve when some line requests more
// than is available; nothing is reserved then.
type InsufficientError struct {
	Shortages []Shortage
}

func (e *InsufficientError) Error() string {
	parts := make([]string, len(e.Shortages))
	for i, s := range e.Shortages {
		parts[i] = fmt.Sprintf("%s: requested %d, available %d", s.SKU, s.Requested, s.Available)
	}
	return "not enough stock: " + strings.Join(parts, "; ")
}

// ErrReservationNotFound is returned for an unknown (channel, order id).
var ErrReservationNotFound = errors.New("reservation not found")

// ErrReservationClosed is returned when a released, committed or expired
// reservation is asked to change state again in another way.
var ErrReservationClosed = errors.New("reservation is no longer active")

// Reservations is the part of the ledger that holds stock for orders.
//
// Available stock of a SKU is the sum of its levels on all 1C warehouses,
// each counted as 0 when negative, minus the quantities of its active
// reservations.
type Reservations interface {
	// Reserve checks and reserves every line of r atomically: either all
	// lines are reserved or none, and two concurrent calls, on one process
	// or several, never reserve the same unit twice. A repeated call for
	// the same (channel, order id) returns the stored reservation and
	// reserves nothing more. It returns *InsufficientError when a line requests
	// for more than is available.
	Reserve(ctx context.Context, r Reservation, now time.Time) (*Reservation, error)
	// Release ends an active reservation and frees its stock. Releasing a
	// released reservation again is not an error.
	Release(ctx context.Context, channel, orderID string, now time.Time) (*Reservation, error)
	// Commit ends an active reservation because 1C's stock now reflects the
	// order, so its stock is not freed but no longer counted twice.
	// Committing a committed reservation again is not an error.
	Commit(ctx context.Context, channel, orderID string, now time.Time) (*Reservation, error)
	// Expire ends every active reservation whose ExpiresAt is before now and
	// returns them.
	Expire(ctx context.Context, now time.Time) ([]Reservation, error)
	// Reserved returns the active reserved quantity of each given SKU that
	// has any.
	Reserved(ctx context.Context, skus []string) (map[string]int64, error)
	// Reservation returns the reservation of an order, or an error that
	// wraps ErrReservationNotFound.
	Reservation(ctx context.Context, channel, orderID string) (*Reservation, error)
	// ReservationsOf returns the active reservations that hold the SKU.
	ReservationsOf(ctx context.Context, sku string) ([]Reservation, error)
}
