// Package ledger stores what 1C sent about goods, stock and prices, and what
// each channel last confirmed. It is the hub's durable state: the bus only
// carries notices that the ledger changed, so anything a crash drops from
// the bus is re-derived from here on start.
package ledger

import (
	"context"
	"errors"
	"time"

	"obmenhub/hub/model"
)

// ErrNotFound is returned when a requested SKU is not in the ledger.
var ErrNotFound = errors.New("not found")

// Store is the ledger contract. SQLite implements it for the embedded
// setup; a PostgreSQL implementation serves production. Every
// implementation runs the suite in package ledger/storetest.
type Store interface {
	Reservations
	Orders

	// BeginFile opens a transaction that applies one parsed file. Nothing of
	// the file is visible to readers until Commit, and Rollback leaves the
	// ledger exactly as it was.
	BeginFile(ctx context.Context, doc *model.Document, acceptedAt time.Time) (FileTx, error)

	// ChangedSKUs calls fn with pages of at most pageSize SKUs, in SKU
	// order, whose channel numbers the committed file seq may have changed.
	// A change is to the SKU's stock, prices or deletion mark, or to its
	// product's, and includes SKUs a full package set to no stock.
	ChangedSKUs(ctx context.Context, seq int64, pageSize int, fn func(skus []string) error) error

	// Changes returns up to limit SKUs whose last change is after the
	// position (seq, sku), in the order of that position: the last file that
	// changed a SKU, then the SKU. A pull feed pages through it.
	Changes(ctx context.Context, seq int64, sku string, limit int) ([]Change, error)

	// Stock returns the stock of each given SKU that the ledger contains.
	Stock(ctx context.Context, skus []string) (map[string]*SKUStock, error)
	// ForEachSKU calls fn for every SKU in the ledger, in SKU order.
	ForEachSKU(ctx context.Context, fn func(sku string) error) error
	// SKU returns the full ledger view of one SKU, or ErrNotFound.
	SKU(ctx context.Context, sku string) (*SKUView, error)

	// ChannelStates returns the per-channel state of the given SKUs; a SKU
	// the channel has never confirmed is absent from the map.
	ChannelStates(ctx context.Context, channel string, skus []string) (map[string]ChannelState, error)
	// SaveChannelStates upserts channel states.
	SaveChannelStates(ctx context.Context, channel string, states []ChannelState) error

	// UnpublishedFiles returns up to limit committed files whose changes
	// were not yet announced on the bus, oldest first.
	UnpublishedFiles(ctx context.Context, limit int) ([]FileRef, error)
	// MarkPublished records that file seq's changes were announced.
	MarkPublished(ctx context.Context, seq int64, at time.Time) error

	// Cursor returns the time stored under name, or the zero time.
	Cursor(ctx context.Context, name string) (time.Time, error)
	// SetCursor stores t under name.
	SetCursor(ctx context.Context, name string, t time.Time) error
	// SKUsBy returns the SKUs whose article (by "article") or barcode (by
	// "barcode") is value; the offer's own value wins over its product's.
	SKUsBy(ctx context.Context, by, value string) ([]string, error)
	// SharedKeys returns which of values are the article (by "article") or
	// barcode (by "barcode") of more than one SKU.
	SharedKeys(ctx context.Context, by string, values []string) (map[string]bool, error)

	// AddDeadLetter stores a message that exhausted its attempts or failed
	// permanently. A dead letter whose MessageID is already stored is not
	// stored again; then AddDeadLetter returns the id 0 and no error.
	AddDeadLetter(ctx context.Context, d DeadLetter) (int64, error)
	// DeadLetters lists dead letters, newest first, at most limit of them.
	DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error)

	Close() error
}

// FileTx applies the records of one file. It implements model.Handler, so
// a parser can stream into it.
type FileTx interface {
	model.Handler
	// Version is the source version that every value of this file carries.
	Version() model.Version
	// Commit makes the file's changes durable and returns what changed.
	Commit(ctx context.Context) (*FileResult, error)
	// Rollback discards the file's changes. It is safe after Commit.
	Rollback() error
}

// FileResult reports what one committed file changed.
type FileResult struct {
	Version  model.Version
	Products int
	Offers   int
}

// Change is a SKU and the sequence of the last file that changed it.
type Change struct {
	SKU string
	Seq int64
}

// FileRef names one committed file.
type FileRef struct {
	Seq  int64
	File string
}

// SKUStock is the stock of one SKU.
type SKUStock struct {
	SKU       string
	ProductID string
	Article   string
	Barcode   string
	// Deleted is true when the offer or its product is marked deleted.
	Deleted bool
	Levels  []StockLevel
	// Prices lists one price per 1C price type, from the last file that
	// gave the offer's prices.
	Prices []PriceLevel
	// Reserved is the quantity held by active reservations, and
	// ReservedBy the same per channel.
	Reserved   int64
	ReservedBy map[string]int64
}

// StockLevel is the quantity of one SKU on one 1C warehouse.
type StockLevel struct {
	Warehouse string        `json:"warehouse"`
	Quantity  model.Decimal `json:"quantity"`
	Version   model.Version `json:"version"`
}

// PriceLevel is the price of one SKU for one 1C price type.
type PriceLevel struct {
	PriceType string        `json:"price_type"`
	Value     model.Decimal `json:"value"`
	Currency  string        `json:"currency,omitempty"`
	Version   model.Version `json:"version"`
}

// SKUView is everything the ledger holds about one SKU.
type SKUView struct {
	SKUStock
	Name string `json:"name,omitempty"`
}

// ChannelState is the record of what a channel was sent and confirmed for
// one SKU.
type ChannelState struct {
	SKU string `json:"sku"`
	// Confirmed is the quantity the channel last accepted; nil when it has
	// accepted none yet.
	Confirmed   *int64    `json:"confirmed"`
	ConfirmedAt time.Time `json:"confirmed_at,omitzero"`
	// Failed is the quantity whose push failed permanently; the hub does not
	// send that same quantity again until the desired value changes.
	Failed    *int64 `json:"failed,omitempty"`
	LastError string `json:"last_error,omitempty"`
}

// DeadLetter is a push that the hub gave up on, with the reason.
type DeadLetter struct {
	ID        int64    `json:"id"`
	Channel   string   `json:"channel"`
	SKUs      []string `json:"skus"`
	Reason    string   `json:"reason"`
	Attempts  int      `json:"attempts"`
	LastError string   `json:"last_error"`
	// MessageID is the bus message that a poison dead letter came from,
	// empty for failed pushes.
	MessageID string    `json:"message_id,omitempty"`
	Payload   string    `json:"payload"`
	CreatedAt time.Time `json:"created_at"`
}
