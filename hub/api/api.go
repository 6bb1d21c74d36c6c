// Package api serves the hub's HTTP API under /api/v1 on Fiber.
package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"obmenhub/hub/alloc"
	"obmenhub/hub/channel"
	"obmenhub/hub/ledger"
)

// API serves ledger views. Channels lists the channel workers whose state
// the SKU view shows.
type API struct {
	Store    ledger.Store
	Channels []*channel.Worker
	// Feeds are the channels that poll the hub, by channel name.
	Feeds map[string]*channel.Feed
	// VirtualWarehouses are explained by GET /api/v1/skus/{sku}/explain.
	VirtualWarehouses []alloc.Warehouse
	Log               *slog.Logger
}

// Register mounts the routes on r.
func (a *API) Register(r fiber.Router) {
	r.Get("/healthz", func(c *fiber.Ctx) error { return c.SendString("ok\n") })
	v1 := r.Group("/api/v1")
	v1.Get("/skus/:sku", a.getSKU)
	v1.Get("/skus/:sku/explain", a.explainSKU)
	v1.Get("/deadletters", a.listDeadLetters)
	v1.Get("/channels/:name/feed", a.getFeed)
	v1.Get("/channels/:name/skus", a.listChannelSKUs)
}

// getFeed serves GET /api/v1/channels/{name}/feed?since=CURSOR&limit=N.
func (a *API) getFeed(c *fiber.Ctx) error {
	name := c.Params("name")
	f, ok := a.Feeds[name]
	if !ok {
		for _, w := range a.Channels {
			if w.Channel() == name {
				return fail(c, fiber.StatusNotFound, "channel "+strconv.Quote(name)+" has no pull feed; set webstore.pull: true on it in the config")
			}
		}
		return fail(c, fiber.StatusNotFound, "channel "+strconv.Quote(name)+" is not in the config")
	}
	limit, err := queryLimit(c, 1000)
	if err != nil {
		return fail(c, fiber.StatusBadRequest, err.Error())
	}
	page, err := f.Page(c.UserContext(), a.Store, c.Query("since"), limit)
	if errors.Is(err, channel.ErrBadCursor) {
		return fail(c, fiber.StatusBadRequest, err.Error())
	}
	if err != nil {
		a.Log.Error("read feed failed", "channel", name, "err", err)
		return fail(c, fiber.StatusInternalServerError, "reading the ledger failed; see the hub log")
	}
	return c.JSON(page)
}

// BindingView is one SKU of GET /api/v1/channels/{name}/skus.
type BindingView struct {
	SKU        string `json:"sku"`
	ExternalID string `json:"external_id"`
}

// listChannelSKUs serves GET /api/v1/channels/{name}/skus?bound=true|false:
// the SKUs that have, or lack, an id on the channel, with counts of both.
func (a *API) listChannelSKUs(c *fiber.Ctx) error {
	name := c.Params("name")
	var binder *channel.Binder
	for _, w := range a.Channels {
		if w.Channel() == name && w.Kind() == "stock" {
			binder = w.Binder()
		}
	}
	if f, ok := a.Feeds[name]; ok && binder == nil {
		binder = f.Binder
	}
	if binder == nil {
		return fail(c, fiber.StatusNotFound, "channel "+strconv.Quote(name)+" is not in the config")
	}
	want := c.Query("bound", "false")
	if want != "true" && want != "false" {
		return fail(c, fiber.StatusBadRequest, "bound "+strconv.Quote(want)+" is invalid; use true or false")
	}
	limit, err := queryLimit(c, 1000)
	if err != nil {
		return fail(c, fiber.StatusBadRequest, err.Error())
	}
	bound, unbound := 0, 0
	list := []BindingView{}
	var page []string
	flush := func() error {
		st, err := a.Store.Stock(c.UserContext(), page)
		if err != nil {
			return err
		}
		exts := make(map[string]string, len(page))
		var keys []string
		for _, sku := range page {
			if s := st[sku]; s != nil {
				exts[sku] = binder.Resolve(s)
				keys = append(keys, exts[sku])
			}
		}
		// An article or barcode shared by several SKUs binds none of them.
		if field := binder.KeyField(); field != "" && len(keys) > 0 {
			shared, err := a.Store.SharedKeys(c.UserContext(), field, keys)
			if err != nil {
				return err
			}
			for sku, ext := range exts {
				if shared[ext] {
					exts[sku] = ""
				}
			}
		}
		for _, sku := range page {
			ext := exts[sku]
			isBound := ext != ""
			if isBound {
				bound++
			} else {
				unbound++
			}
			if isBound == (want == "true") && len(list) < limit {
				list = append(list, BindingView{SKU: sku, ExternalID: ext})
			}
		}
		page = page[:0]
		return nil
	}
	err = a.Store.ForEachSKU(c.UserContext(), func(sku string) error {
		page = append(page, sku)
		if len(page) == 1000 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		a.Log.Error("list channel SKUs failed", "channel", name, "err", err)
		return fail(c, fiber.StatusInternalServerError, "reading the ledger failed; see the hub log")
	}
	return c.JSON(fiber.Map{"channel": name, "bound": bound, "unbound": unbound, "skus": list})
}

// queryLimit reads the limit query parameter: def when absent, 1 to 10000.
func queryLimit(c *fiber.Ctx, def int) (int, error) {
	q := c.Query("limit")
	if q == "" {
		return def, nil
	}
	n, err := strconv.Atoi(q)
	if err != nil || n <= 0 || n > 10000 {
		return 0, fmt.Errorf("limit %q is invalid; use a whole number from 1 to 10000", q)
	}
	return n, nil
}

// SKUResponse is the body of GET /api/v1/skus/{sku}.
type SKUResponse struct {
	SKU       string              `json:"sku"`
	ProductID string              `json:"product_id"`
	Name      string              `json:"name,omitempty"`
	Article   string              `json:"article,omitempty"`
	Deleted   bool                `json:"deleted"`
	Levels    []ledger.StockLevel `json:"levels"`
	Prices    []ledger.PriceLevel `json:"prices"`
	Channels  []ChannelView       `json:"channels"`
}

// ChannelView is one channel's numbers for a SKU.
type ChannelView struct {
	Channel    string   `json:"channel"`
	Warehouses []string `json:"warehouses"`
	// ExternalID is the channel's own id of the SKU (Ozon offer_id,
	// Wildberries chrtId); empty when the SKU is not bound.
	ExternalID string `json:"external_id"`
	// Kind is the target the entry keeps in step: "stock" (units), "prices"
	// (kopecks), or "feed" (units a polling store reads; it confirms
	// nothing).
	Kind string `json:"kind"`
	// Desired is the number the channel should show now, from the ledger.
	// It is absent when there is nothing to send, such as no price of the
	// channel's type.
	Desired *int64 `json:"desired,omitempty"`
	ledger.ChannelState
}

// Errors are JSON objects {"error": "..."} whose text names the value.
func fail(c *fiber.Ctx, status int, msg string) error {
	return c.Status(status).JSON(fiber.Map{"error": msg})
}

func (a *API) getSKU(c *fiber.Ctx) error {
	// 1C SKUs contain '#', which a client sends as %23.
	sku, err := url.PathUnescape(c.Params("sku"))
	if err != nil {
		return fail(c, fiber.StatusBadRequest, "invalid SKU in path: "+err.Error())
	}
	v, err := a.Store.SKU(c.UserContext(), sku)
	if errors.Is(err, ledger.ErrNotFound) {
		return fail(c, fiber.StatusNotFound, "SKU "+strconv.Quote(sku)+" is not in the ledger; check the offer Ид (send '#' as %23)")
	}
	if err != nil {
		a.Log.Error("read SKU failed", "sku", sku, "err", err)
		return fail(c, fiber.StatusInternalServerError, "reading the ledger failed; see the hub log")
	}
	resp := SKUResponse{SKU: v.SKU, ProductID: v.ProductID, Name: v.Name, Article: v.Article, Deleted: v.Deleted,
		Levels: v.Levels, Prices: v.Prices, Channels: []ChannelView{}}
	if resp.Levels == nil {
		resp.Levels = []ledger.StockLevel{}
	}
	for _, w := range a.Channels {
		states, err := a.Store.ChannelStates(c.UserContext(), w.StateKey(), []string{sku})
		if err != nil {
			a.Log.Error("read channel state failed", "sku", sku, "channel", w.Channel(), "err", err)
			return fail(c, fiber.StatusInternalServerError, "reading the ledger failed; see the hub log")
		}
		cs := states[sku]
		cs.SKU = sku
		ws := w.Warehouses()
		if ws == nil {
			ws = []string{}
		}
		view := ChannelView{Channel: w.Channel(), Kind: w.Kind(), Warehouses: ws, ExternalID: w.ExternalID(&v.SKUStock), ChannelState: cs}
		if value, ok := w.Value(&v.SKUStock); ok {
			view.Desired = &value
		}
		resp.Channels = append(resp.Channels, view)
	}
	for name, f := range a.Feeds {
		target := channel.StockTarget{Channel: name, Warehouses: f.Warehouses, Virtual: f.Virtual}
		value, _ := target.Value(&v.SKUStock)
		resp.Channels = append(resp.Channels, ChannelView{Channel: name, Kind: "feed", Warehouses: f.Warehouses,
			ExternalID: f.Binder.Resolve(&v.SKUStock), Desired: &value, ChannelState: ledger.ChannelState{SKU: sku}})
	}
	return c.JSON(resp)
}

func (a *API) listDeadLetters(c *fiber.Ctx) error {
	limit, err := queryLimit(c, 100)
	if err != nil {
		return fail(c, fiber.StatusBadRequest, err.Error())
	}
	dl, err := a.Store.DeadLetters(c.UserContext(), limit)
	if err != nil {
		a.Log.Error("list dead letters failed", "err", err)
		return fail(c, fiber.StatusInternalServerError, "reading the ledger failed; see the hub log")
	}
	return c.JSON(fiber.Map{"dead_letters": dl})
}
