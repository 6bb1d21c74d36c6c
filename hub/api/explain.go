package api

import (
	"errors"
	"net/url"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"obmenhub/hub/alloc"
	"obmenhub/hub/channel"
	"obmenhub/hub/ledger"
)

// ExplainResponse is the body of GET /api/v1/skus/{sku}/explain: every
// input of each channel's number for one SKU and how it was reached.
type ExplainResponse struct {
	SKU     string              `json:"sku"`
	Deleted bool                `json:"deleted"`
	Levels  []ledger.StockLevel `json:"levels"`
	// Reserved is the quantity active reservations hold, and Reservations
	// lists them.
	Reserved     int64                `json:"reserved"`
	Reservations []ledger.Reservation `json:"reservations"`
	// Virtual explains each virtual warehouse: pool, buffer, carve-outs,
	// scarcity and each bound channel's steps.
	Virtual  []alloc.Explanation `json:"virtual_warehouses"`
	Channels []ChannelNumber     `json:"channels"`
}

// ChannelNumber is one channel's result for the SKU.
type ChannelNumber struct {
	Channel string `json:"channel"`
	Kind    string `json:"kind"`
	// Source names where the number comes from: "virtual warehouses" or
	// "1C warehouses less reservations"; for prices, "price type".
	Source     string   `json:"source"`
	Warehouses []string `json:"warehouses,omitempty"`
	ExternalID string   `json:"external_id"`
	Desired    *int64   `json:"desired,omitempty"`
	Confirmed  *int64   `json:"confirmed"`
	LastError  string   `json:"last_error,omitempty"`
}

func (a *API) explainSKU(c *fiber.Ctx) error {
	sku, err := url.PathUnescape(c.Params("sku"))
	if err != nil {
		return fail(c, fiber.StatusBadRequest, "invalid SKU in path: "+err.Error())
	}
	ctx := c.UserContext()
	v, err := a.Store.SKU(ctx, sku)
	if errors.Is(err, ledger.ErrNotFound) {
		return fail(c, fiber.StatusNotFound, "SKU "+strconv.Quote(sku)+" is not in the ledger; check the offer Ид (send '#' as %23)")
	}
	if err != nil {
		a.Log.Error("read SKU failed", "sku", sku, "err", err)
		return fail(c, fiber.StatusInternalServerError, "reading the ledger failed; see the hub log")
	}
	resv, err := a.Store.ReservationsOf(ctx, sku)
	if err != nil {
		a.Log.Error("read reservations failed", "sku", sku, "err", err)
		return fail(c, fiber.StatusInternalServerError, "reading the ledger failed; see the hub log")
	}
	resp := ExplainResponse{SKU: sku, Deleted: v.Deleted, Levels: v.Levels, Reserved: v.Reserved,
		Reservations: resv, Virtual: []alloc.Explanation{}, Channels: []ChannelNumber{}}
	if resp.Levels == nil {
		resp.Levels = []ledger.StockLevel{}
	}
	if resp.Reservations == nil {
		resp.Reservations = []ledger.Reservation{}
	}
	in := alloc.Input{Levels: map[string]int64{}, Reserved: v.Reserved, Sold: v.ReservedBy}
	for _, l := range v.Levels {
		in.Levels[l.Warehouse] += l.Quantity.Floor()
	}
	bound := map[string]bool{}
	for _, vw := range a.VirtualWarehouses {
		resp.Virtual = append(resp.Virtual, alloc.Explain(vw, in))
		for _, b := range vw.Bindings {
			bound[b.Channel] = true
		}
	}
	for _, w := range a.Channels {
		states, err := a.Store.ChannelStates(ctx, w.StateKey(), []string{sku})
		if err != nil {
			a.Log.Error("read channel state failed", "sku", sku, "channel", w.Channel(), "err", err)
			return fail(c, fiber.StatusInternalServerError, "reading the ledger failed; see the hub log")
		}
		cs := states[sku]
		n := ChannelNumber{Channel: w.Channel(), Kind: w.Kind(), ExternalID: w.ExternalID(&v.SKUStock),
			Confirmed: cs.Confirmed, LastError: cs.LastError}
		switch {
		case w.Kind() != "stock":
			n.Source = "price type"
		case bound[w.Channel()]:
			n.Source = "virtual warehouses"
		default:
			n.Source = "1C warehouses less reservations"
			n.Warehouses = w.Warehouses()
		}
		if value, ok := w.Value(&v.SKUStock); ok {
			n.Desired = &value
		}
		resp.Channels = append(resp.Channels, n)
	}
	for name, f := range a.Feeds {
		target := channel.StockTarget{Channel: name, Warehouses: f.Warehouses, Virtual: f.Virtual}
		value, _ := target.Value(&v.SKUStock)
		n := ChannelNumber{Channel: name, Kind: "feed", ExternalID: f.Binder.Resolve(&v.SKUStock), Desired: &value,
			Source: "1C warehouses less reservations"}
		if bound[name] {
			n.Source = "virtual warehouses"
		}
		resp.Channels = append(resp.Channels, n)
	}
	return c.JSON(resp)
}
