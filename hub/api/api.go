// Package api serves the hub's HTTP API under /api/v1 on Fiber.
package api

import (
	"errors"
	"log/slog"
	"net/url"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"obmenhub/hub/channel"
	"obmenhub/hub/ledger"
)

// API serves ledger views. Channels lists the channel workers whose state
// the SKU view shows.
type API struct {
	Store    ledger.Store
	Channels []*channel.Worker
	Log      *slog.Logger
}

// Register mounts the routes on r.
func (a *API) Register(r fiber.Router) {
	r.Get("/healthz", func(c *fiber.Ctx) error { return c.SendString("ok\n") })
	v1 := r.Group("/api/v1")
	v1.Get("/skus/:sku", a.getSKU)
	v1.Get("/deadletters", a.listDeadLetters)
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
	// Desired is what the channel should show now, from the ledger.
	Desired int64 `json:"desired"`
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
		states, err := a.Store.ChannelStates(c.UserContext(), w.Channel(), []string{sku})
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
		resp.Channels = append(resp.Channels, ChannelView{Channel: w.Channel(), Warehouses: ws,
			ExternalID: w.ExternalID(&v.SKUStock), Desired: channel.Desired(&v.SKUStock, w.Warehouses()), ChannelState: cs})
	}
	return c.JSON(resp)
}

func (a *API) listDeadLetters(c *fiber.Ctx) error {
	limit := 100
	if q := c.Query("limit"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n <= 0 || n > 10000 {
			return fail(c, fiber.StatusBadRequest, "limit "+strconv.Quote(q)+" is invalid; use a whole number from 1 to 10000")
		}
		limit = n
	}
	dl, err := a.Store.DeadLetters(c.UserContext(), limit)
	if err != nil {
		a.Log.Error("list dead letters failed", "err", err)
		return fail(c, fiber.StatusInternalServerError, "reading the ledger failed; see the hub log")
	}
	return c.JSON(fiber.Map{"dead_letters": dl})
}
