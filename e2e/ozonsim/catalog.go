package ozonsim

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"weak"
)

// Limits of the catalogue methods, from their descriptions in the Ozon
// Seller API spec (info.version 2.1).
const (
	// MaxProductListLimit is the largest limit of POST /v3/product/list.
	MaxProductListLimit = 1000
	// MaxProductInfoIDs is the most offer_id, product_id and sku values,
	// in sum, that one POST /v3/product/info/list takes.
	MaxProductInfoIDs = 1000
)

// Product is one product of the simulated seller account, with the fields
// that the catalogue methods return.
type Product struct {
	// ProductID is Ozon's product_id. It must be positive and unique.
	ProductID int64
	// OfferID is the seller's article.
	OfferID string
	// Name is the product's title.
	Name string
	// Barcodes are the product's barcodes.
	Barcodes []string
	// Archived marks a product that the seller archived.
	Archived bool
}

// CatalogStats are the counters of the catalogue methods. Their requests
// are also counted in Stats.Requests, and rejected ones in
// Stats.ValidationFailures and Stats.AuthFailures.
type CatalogStats struct {
	// ListRequests is the number of POST /v3/product/list requests.
	ListRequests int
	// InfoRequests is the number of POST /v3/product/info/list requests.
	InfoRequests int
	// InjectedFailures is the number of responses sent by FailCatalogAfter.
	InjectedFailures int
}

// catalogState is the catalogue of one Server.
type catalogState struct {
	mu         sync.Mutex
	products   []Product // sorted by ProductID
	served     int       // catalogue requests that passed validation and auth
	failAfter  int
	failStatus int // 0 when no failure is injected
	stats      CatalogStats
}

// catalogs maps each Server to its catalogue. The key is a weak pointer,
// and a cleanup removes the entry once the Server is garbage, so the table
// does not keep closed servers alive.
// TODO: make the catalogue a field of Server.
var catalogs sync.Map // weak.Pointer[Server] -> *catalogState

func (s *Server) catalog() *catalogState {
	key := weak.Make(s)
	if v, ok := catalogs.Load(key); ok {
		return v.(*catalogState)
	}
	v, loaded := catalogs.LoadOrStore(key, &catalogState{})
	if !loaded {
		runtime.AddCleanup(s, func(k weak.Pointer[Server]) { catalogs.Delete(k) }, key)
	}
	return v.(*catalogState)
}

// SetCatalog replaces the account's products. It returns an error when a
// ProductID is not positive or appears twice.
func (s *Server) SetCatalog(products []Product) error {
	sorted := make([]Product, len(products))
	for i, p := range products {
		sorted[i] = p
		sorted[i].Barcodes = slices.Clone(p.Barcodes)
	}
	slices.SortFunc(sorted, func(a, b Product) int { return cmp.Compare(a.ProductID, b.ProductID) })
	for i, p := range sorted {
		if p.ProductID <= 0 {
			return fmt.Errorf("ozonsim: product with offer_id %q has product_id %d, must be positive", p.OfferID, p.ProductID)
		}
		if i > 0 && sorted[i-1].ProductID == p.ProductID {
			return fmt.Errorf("ozonsim: product_id %d appears twice in the catalogue", p.ProductID)
		}
	}

	c := s.catalog()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.products = sorted
	return nil
}

// FailCatalogAfter lets the next n valid, authenticated catalogue requests
// (both methods) through and responds to every later one with status and
// Ozon's error body, until it is called again. Status 0 turns it off.
func (s *Server) FailCatalogAfter(n, status int) {
	c := s.catalog()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.served = 0
	c.failAfter = n
	c.failStatus = status
}

// CatalogStats returns the counters of the catalogue methods.
func (s *Server) CatalogStats() CatalogStats {
	c := s.catalog()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// admitCatalogRequest counts, validates and authenticates a catalogue
// request and returns its body. On false it has written the response.
//
// NOTE: Ozon limits every method to 50 requests per second per Client ID
// and gives these methods no limit of their own. The simulator does not
// enforce the 50 rps limit.
func (s *Server) admitCatalogRequest(w http.ResponseWriter, r *http.Request, countMethod func(*CatalogStats)) ([]byte, bool) {
	s.count(func(st *Stats) { st.Requests++ })
	c := s.catalog()
	c.mu.Lock()
	countMethod(&c.stats)
	c.mu.Unlock()

	raw, err := io.ReadAll(r.Body)
	if err != nil {
		s.count(func(st *Stats) { st.AbortedRequests++ })
		return nil, false
	}
	r.Body = io.NopCloser(bytes.NewReader(raw))

	if err := s.validate(r); err != nil {
		s.count(func(st *Stats) { st.ValidationFailures++ })
		s.cfg.Logger.Warn("ozonsim: request rejected by spec", slog.Any("error", err))
		writeJSON(w, http.StatusBadRequest, rpcStatus{Code: 3, Message: err.Error(), Details: []any{}})
		return nil, false
	}
	if r.Header.Get("Client-Id") != s.cfg.ClientID || r.Header.Get("Api-Key") != s.cfg.APIKey {
		s.count(func(st *Stats) { st.AuthFailures++ })
		writeJSON(w, http.StatusForbidden, rpcStatus{Code: 7, Message: "Invalid Api-Key, please check the key and try again", Details: []any{}})
		return nil, false
	}

	c.mu.Lock()
	c.served++
	fail := c.failStatus != 0 && c.served > c.failAfter
	status := c.failStatus
	if fail {
		c.stats.InjectedFailures++
	}
	c.mu.Unlock()
	if fail {
		writeJSON(w, status, rpcStatus{Code: 13, Message: "injected failure: " + http.StatusText(status), Details: []any{}})
		return nil, false
	}
	return raw, true
}

// rejectCatalogRequest responds with 400 to a request that passed the
// spec's schema but that the method's description forbids or that the
// simulator does not simulate.
func (s *Server) rejectCatalogRequest(w http.ResponseWriter, message string) {
	s.count(func(st *Stats) { st.ValidationFailures++ })
	s.cfg.Logger.Warn("ozonsim: catalogue request rejected", slog.String("reason", message))
	writeJSON(w, http.StatusBadRequest, rpcStatus{Code: 3, Message: message, Details: []any{}})
}

type productListRequest struct {
	Filter struct {
		OfferID    []string          `json:"offer_id"`
		ProductID  []json.RawMessage `json:"product_id"`
		Visibility string            `json:"visibility"`
	} `json:"filter"`
	LastID string `json:"last_id"`
	Limit  int64  `json:"limit"`
}

type productListItem struct {
	Archived     bool   `json:"archived"`
	HasFBOStocks bool   `json:"has_fbo_stocks"`
	HasFBSStocks bool   `json:"has_fbs_stocks"`
	IsDiscounted bool   `json:"is_discounted"`
	OfferID      string `json:"offer_id"`
	ProductID    int64  `json:"product_id"`
}

// handleProductList serves POST /v3/product/list: the products after
// last_id in product_id order, at most limit of them. last_id is opaque to
// the client.
func (s *Server) handleProductList(w http.ResponseWriter, r *http.Request) {
	raw, ok := s.admitCatalogRequest(w, r, func(st *CatalogStats) { st.ListRequests++ })
	if !ok {
		return
	}

	var req productListRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		s.rejectCatalogRequest(w, "invalid JSON body: "+err.Error())
		return
	}
	if req.Limit < 1 || req.Limit > MaxProductListLimit {
		s.rejectCatalogRequest(w, fmt.Sprintf("invalid GetProductListRequest.Limit: value must be inside range [1, %d], got %d", MaxProductListLimit, req.Limit))
		return
	}
	// NOTE: only ALL is simulated, and it lists archived products too.
	if req.Filter.Visibility != "" && req.Filter.Visibility != "ALL" {
		s.rejectCatalogRequest(w, fmt.Sprintf("ozonsim simulates visibility ALL only, got %q", req.Filter.Visibility))
		return
	}
	after, err := decodeLastID(req.LastID)
	if err != nil {
		s.rejectCatalogRequest(w, err.Error())
		return
	}
	productIDs, err := parseProductIDs(req.Filter.ProductID)
	if err != nil {
		s.rejectCatalogRequest(w, "invalid filter.product_id: "+err.Error())
		return
	}
	if len(req.Filter.OfferID) > 0 && len(productIDs) > 0 {
		s.rejectCatalogRequest(w, "use one group of identifiers: filter.offer_id or filter.product_id")
		return
	}
	if len(req.Filter.OfferID)+len(productIDs) > MaxProductListLimit {
		s.rejectCatalogRequest(w, fmt.Sprintf("filter has %d identifiers, at most %d are allowed", len(req.Filter.OfferID)+len(productIDs), MaxProductListLimit))
		return
	}

	offers := setOf(req.Filter.OfferID)
	c := s.catalog()
	c.mu.Lock()
	var matching []Product
	for _, p := range c.products {
		if (len(offers) > 0 && !offers[p.OfferID]) || (len(productIDs) > 0 && !productIDs[p.ProductID]) {
			continue
		}
		matching = append(matching, p)
	}
	c.mu.Unlock()

	items := []productListItem{}
	for _, p := range matching {
		if p.ProductID <= after {
			continue
		}
		if int64(len(items)) == req.Limit {
			break
		}
		items = append(items, productListItem{Archived: p.Archived, OfferID: p.OfferID, ProductID: p.ProductID})
	}
	// A full last page still carries a last_id, and the request after it
	// gets no items and an empty last_id.
	lastID := ""
	if len(items) > 0 {
		lastID = encodeLastID(items[len(items)-1].ProductID)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"result": map[string]any{"items": items, "total": len(matching), "last_id": lastID},
	})
}

// encodeLastID and decodeLastID give last_id an opaque form, as Ozon's is,
// so that a client cannot depend on its content.
func encodeLastID(productID int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("after:" + strconv.FormatInt(productID, 10)))
}

func decodeLastID(lastID string) (int64, error) {
	if lastID == "" {
		return 0, nil
	}
	text, err := base64.RawURLEncoding.DecodeString(lastID)
	if err == nil {
		if digits, found := bytes.CutPrefix(text, []byte("after:")); found {
			if id, err := strconv.ParseInt(string(digits), 10, 64); err == nil {
				return id, nil
			}
		}
	}
	return 0, fmt.Errorf("invalid last_id %q: pass the last_id of the previous response", lastID)
}

type productInfoRequest struct {
	OfferID   []string          `json:"offer_id"`
	ProductID []json.RawMessage `json:"product_id"`
	SKU       []json.RawMessage `json:"sku"`
}

type productInfoItem struct {
	ID         int64    `json:"id"`
	OfferID    string   `json:"offer_id"`
	Name       string   `json:"name"`
	Barcodes   []string `json:"barcodes"`
	IsArchived bool     `json:"is_archived"`
}

// handleProductInfo serves POST /v3/product/info/list: the products with
// the given offer_id or product_id values, in product_id order. Unknown
// identifiers are left out of the response.
func (s *Server) handleProductInfo(w http.ResponseWriter, r *http.Request) {
	raw, ok := s.admitCatalogRequest(w, r, func(st *CatalogStats) { st.InfoRequests++ })
	if !ok {
		return
	}

	var req productInfoRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		s.rejectCatalogRequest(w, "invalid JSON body: "+err.Error())
		return
	}
	if n := len(req.OfferID) + len(req.ProductID) + len(req.SKU); n > MaxProductInfoIDs {
		s.rejectCatalogRequest(w, fmt.Sprintf("request has %d identifiers, at most %d are allowed", n, MaxProductInfoIDs))
		return
	}
	if len(req.SKU) > 0 {
		s.rejectCatalogRequest(w, "ozonsim does not simulate Ozon SKUs; request by offer_id or product_id")
		return
	}
	productIDs, err := parseProductIDs(req.ProductID)
	if err != nil {
		s.rejectCatalogRequest(w, "invalid product_id: "+err.Error())
		return
	}
	offers := setOf(req.OfferID)

	items := []productInfoItem{}
	c := s.catalog()
	c.mu.Lock()
	for _, p := range c.products {
		if offers[p.OfferID] || productIDs[p.ProductID] {
			items = append(items, productInfoItem{ID: p.ProductID, OfferID: p.OfferID, Name: p.Name, Barcodes: nonNil(p.Barcodes), IsArchived: p.Archived})
		}
	}
	c.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

// parseProductIDs accepts product_id values as the spec types them,
// strings of int64, and as JSON numbers, which Ozon also takes.
func parseProductIDs(values []json.RawMessage) (map[int64]bool, error) {
	ids := make(map[int64]bool, len(values))
	for _, v := range values {
		text := string(bytes.TrimSpace(v))
		if unquoted, err := strconv.Unquote(text); err == nil {
			text = unquoted
		}
		id, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s is not an int64", v)
		}
		ids[id] = true
	}
	return ids, nil
}

func setOf(values []string) map[string]bool {
	set := make(map[string]bool, len(values))
	for _, v := range values {
		set[v] = true
	}
	return set
}

func nonNil(values []string) []string {
	if values == nil {
		return []string{}
	}
	return values
}
