package ozon

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"obmenhub/adapters"
	"obmenhub/adapters/httpx"
	"obmenhub/hub/model"
	"obmenhub/retry"
)

// Limits of POST /v3/posting/fbs/list, from its description in the Ozon
// Seller API spec (info.version 2.1).
const (
	// PostingListPageSize is the limit sent, the method's maximum.
	PostingListPageSize = 1000
	// PostingListMaxPeriod is the longest filter.since to filter.to
	// period that the method takes: one year.
	PostingListMaxPeriod = 365 * 24 * time.Hour

	postingListPath = "/v3/posting/fbs/list"
)

var _ adapters.OrderSource = (*Adapter)(nil)

type postingListRequest struct {
	Dir    string            `json:"dir"`
	Filter postingListFilter `json:"filter"`
	Limit  int64             `json:"limit"`
	Offset int64             `json:"offset"`
}

// postingListFilter selects postings. Since and To bound in_process_at,
// the time Ozon started processing the posting; LastChangedStatusDate
// bounds the time of the posting's last status change.
type postingListFilter struct {
	Since                 string        `json:"since"`
	To                    string        `json:"to"`
	WarehouseID           []string      `json:"warehouse_id,omitempty"`
	LastChangedStatusDate *statusPeriod `json:"last_changed_status_date,omitempty"`
}

type statusPeriod struct {
	From string `json:"from"`
	To   string `json:"to"`
}

type posting struct {
	PostingNumber string    `json:"posting_number"`
	Status        string    `json:"status"`
	InProcessAt   time.Time `json:"in_process_at"`
	Products      []struct {
		OfferID      string `json:"offer_id"`
		Quantity     int64  `json:"quantity"`
		Price        string `json:"price"`
		CurrencyCode string `json:"currency_code"`
	} `json:"products"`
}

type postingListResponse struct {
	Result struct {
		Postings []posting `json:"postings"`
		HasNext  bool      `json:"has_next"`
	} `json:"result"`
}

// FetchOrders reads the FBS postings of the adapter's warehouse whose
// status last changed at or after since, with POST /v3/posting/fbs/list,
// 1000 per page, following offset while has_next is true. ExternalID of an
// order is the posting_number, and its lines are the posting's products by
// offer_id.
//
// The method requires a creation period (filter.since and filter.to, at
// most one year), so the request selects postings created in the year
// before the call and changed between since and the call. NOTE: a posting created
// more than a year before the call is not seen, whatever its change.
//
// Ozon returns no time of the last status change, only filters on it, so
// UpdatedAt of every order is the end of the requested period, the time of
// the call. A posting that changes again while the pages are read may drop
// out of the filter and shift the offsets, so a later one can be missed,
// but its new change falls after this period and the next poll reads it.
//
// The requests wait on the adapter's rate limiter, because Ozon gives the
// method no limit of its own besides the account's 50 requests per second.
// An error wraps the retry class of the failed request, and orders already
// read are dropped.
func (a *Adapter) FetchOrders(ctx context.Context, since time.Time) ([]adapters.Order, error) {
	to := a.cfg.Clock.Now().UTC()
	since = since.UTC()
	if since.After(to) {
		return []adapters.Order{}, nil
	}
	filter := postingListFilter{
		Since:                 to.Add(-PostingListMaxPeriod).Format(time.RFC3339),
		To:                    to.Format(time.RFC3339),
		WarehouseID:           []string{strconv.FormatInt(a.cfg.WarehouseID, 10)},
		LastChangedStatusDate: &statusPeriod{From: since.Format(time.RFC3339Nano), To: to.Format(time.RFC3339)},
	}

	orders := []adapters.Order{}
	seen := map[string]bool{}
	var offset int64
	for page := 1; ; page++ {
		list, err := a.listPostings(ctx, page, filter, offset)
		if err != nil {
			return nil, err
		}
		postings := list.Result.Postings
		for _, p := range postings {
			if p.PostingNumber == "" || seen[p.PostingNumber] {
				continue
			}
			seen[p.PostingNumber] = true
			orders = append(orders, a.postingOrder(p, to))
		}
		if !list.Result.HasNext {
			break
		}
		if len(postings) == 0 {
			return nil, retry.Retriable(fmt.Errorf("ozon: %s page %d has no postings but has_next is true; the listing would not end", postingListPath, page))
		}
		offset += int64(len(postings))
	}
	return orders, nil
}

// listPostings reads one page of POST /v3/posting/fbs/list.
func (a *Adapter) listPostings(ctx context.Context, page int, filter postingListFilter, offset int64) (*postingListResponse, error) {
	resp, err := a.client.Do(ctx, httpx.Request{
		Method:   http.MethodPost,
		Path:     postingListPath,
		Body:     postingListRequest{Dir: "ASC", Filter: filter, Limit: PostingListPageSize, Offset: offset},
		LogAttrs: []slog.Attr{slog.Int("page", page), slog.Int64("offset", offset)},
	})
	if err != nil {
		return nil, fmt.Errorf("ozon: list FBS postings, page %d: %w", page, err)
	}
	var list postingListResponse
	if err := json.Unmarshal(resp.Body, &list); err != nil {
		return nil, retry.Retriable(fmt.Errorf("ozon: decode response of %s, page %d: %w", postingListPath, page, err))
	}
	return &list, nil
}

// postingOrder converts a posting. A product whose price does not parse
// keeps its line with a zero price, because the quantity is what the hub
// needs, and the failure is logged.
func (a *Adapter) postingOrder(p posting, readAt time.Time) adapters.Order {
	order := adapters.Order{
		ExternalID:   p.PostingNumber,
		Status:       postingStatus(p.Status),
		VendorStatus: p.Status,
		CreatedAt:    p.InProcessAt.UTC(),
		UpdatedAt:    readAt,
		Lines:        make([]adapters.OrderLine, 0, len(p.Products)),
	}
	for _, product := range p.Products {
		if order.Currency == "" {
			order.Currency = product.CurrencyCode
		}
		price, err := model.ParseDecimal(product.Price)
		if err != nil {
			a.cfg.Logger.Warn("ozon posting product has an invalid price; the line is kept with price 0",
				slog.String("posting_number", p.PostingNumber), slog.String("offer_id", product.OfferID), slog.Any("error", err))
			price = model.IntDecimal(0)
		}
		order.Lines = append(order.Lines, adapters.OrderLine{ExternalID: product.OfferID, Qty: product.Quantity, Price: price})
	}
	if order.Status == adapters.OrderNew && !knownHoldingStatuses[p.Status] {
		a.cfg.Logger.Warn("ozon posting has an unknown status; treating it as new, so it keeps its stock reserved",
			slog.String("posting_number", p.PostingNumber), slog.String("status", p.Status))
	}
	return order
}

// knownHoldingStatuses are the posting statuses of the spec in which the
// goods are still at the seller's warehouse. not_accepted means the
// sorting centre did not accept the posting, so the seller has it again.
var knownHoldingStatuses = map[string]bool{
	"awaiting_registration":  true,
	"acceptance_in_progress": true,
	"awaiting_approve":       true,
	"awaiting_packaging":     true,
	"awaiting_deliver":       true,
	"not_accepted":           true,
}

// postingStatus maps an Ozon posting status onto the hub's statuses. The
// statuses after the hand-over to delivery (including the arbitration
// ones, which Ozon opens during or after delivery) are shipped. An unknown
// status is new, so that the order keeps holding stock.
func postingStatus(status string) string {
	switch status {
	case "cancelled":
		return adapters.OrderCancelled
	case "delivering", "driver_pickup", "delivered", "sent_by_seller", "arbitration", "client_arbitration":
		return adapters.OrderShipped
	default:
		return adapters.OrderNew
	}
}
