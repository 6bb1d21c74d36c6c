package insalessim

import (
	"cmp"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"weak"
)

// Paging of GET /admin/products.json.
//
// NOTE: the InSales reference is not among the specs at hand. The maximum
// of 250 per page is the value that public InSales clients send; the
// default of 100 is a guess.
const (
	MaxProductsPerPage     = 250
	DefaultProductsPerPage = 100
)

// Product is one product of the simulated shop, shaped as the products
// list returns it.
type Product struct {
	ID       int64            `json:"id"`
	Title    string           `json:"title"`
	Variants []ProductVariant `json:"variants"`
}

// ProductVariant is one variant of a Product.
type ProductVariant struct {
	ID int64 `json:"id"`
	// SKU is the seller's article of the variant.
	SKU string `json:"sku"`
	// Barcode is the variant's barcode; empty means none.
	Barcode string `json:"barcode"`
	Title   string `json:"title"`
}

// CatalogStats are the counters of the products list. Its requests are
// also counted in Stats.Requests and against the shop's limit, and rejected
// ones in Stats.ValidationFailures and Stats.AuthFailures.
type CatalogStats struct {
	// Requests is the number of GET /admin/products.json requests.
	Requests int
	// InjectedFailures is the number of responses sent by FailCatalogAfter.
	InjectedFailures int
}

// catalogState is the catalogue of one Server.
type catalogState struct {
	mu         sync.Mutex
	products   []Product // sorted by ID
	served     int       // requests that passed auth and the limit
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

// SetCatalog replaces the shop's products. It returns an error when a
// product or variant id is not positive or appears twice.
func (s *Server) SetCatalog(products []Product) error {
	sorted := make([]Product, len(products))
	productIDs := map[int64]bool{}
	variantIDs := map[int64]bool{}
	for i, p := range products {
		if p.ID <= 0 || productIDs[p.ID] {
			return fmt.Errorf("insalessim: product id %d is not positive or appears twice", p.ID)
		}
		productIDs[p.ID] = true
		for _, v := range p.Variants {
			if v.ID <= 0 || variantIDs[v.ID] {
				return fmt.Errorf("insalessim: variant id %d of product %d is not positive or appears twice", v.ID, p.ID)
			}
			variantIDs[v.ID] = true
		}
		sorted[i] = p
		sorted[i].Variants = append([]ProductVariant{}, p.Variants...)
	}
	slices.SortFunc(sorted, func(a, b Product) int { return cmp.Compare(a.ID, b.ID) })

	c := s.catalog()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.products = sorted
	return nil
}

// FailCatalogAfter lets the next n authenticated products list requests
// within the limit through and responds to every later one with status,
// until it is called again. Status 0 turns the failure off. The failed requests
// count against the limit.
func (s *Server) FailCatalogAfter(n, status int) {
	c := s.catalog()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.served = 0
	c.failAfter = n
	c.failStatus = status
}

// CatalogStats returns the counters of the products list.
func (s *Server) CatalogStats() CatalogStats {
	c := s.catalog()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// variantResponse is a variant as the products list returns it, with
// barcode null when the variant has none.
type variantResponse struct {
	ID        int64   `json:"id"`
	ProductID int64   `json:"product_id"`
	SKU       string  `json:"sku"`
	Barcode   *string `json:"barcode"`
	Title     string  `json:"title"`
}

type productResponse struct {
	ID       int64             `json:"id"`
	Title    string            `json:"title"`
	Variants []variantResponse `json:"variants"`
}

// handleProductList serves GET /admin/products.json: a JSON array of the
// products of the requested page, in id order. A page past the end is an
// empty array. Each request counts against the shop's limit, as the group
// update does.
func (s *Server) handleProductList(w http.ResponseWriter, r *http.Request) {
	s.count(func(st *Stats) { st.Requests++ })
	c := s.catalog()
	c.mu.Lock()
	c.stats.Requests++
	c.mu.Unlock()
	now := s.cfg.Clock.Now()

	login, password, ok := r.BasicAuth()
	if !ok || login != s.cfg.Login || password != s.cfg.Password {
		s.count(func(st *Stats) { st.AuthFailures++ })
		s.writeUsage(w)
		w.Header().Set("WWW-Authenticate", `Basic realm="Application"`)
		writeJSON(w, http.StatusUnauthorized, errorBody{Errors: []string{"HTTP Basic: Access denied."}})
		return
	}
	if !s.admitRate(w, now) {
		return
	}
	if status, fail := c.takeFailure(); fail {
		s.writeUsage(w)
		writeJSON(w, status, errorBody{Errors: []string{"injected failure: " + http.StatusText(status)}})
		return
	}

	page, perPage, err := parsePaging(r)
	if err != nil {
		s.count(func(st *Stats) { st.ValidationFailures++ })
		s.cfg.Logger.Warn("insalessim: invalid products list rejected", slog.Any("error", err))
		s.writeUsage(w)
		writeJSON(w, http.StatusBadRequest, errorBody{Errors: []string{err.Error()}})
		return
	}

	out := []productResponse{}
	c.mu.Lock()
	start := (page - 1) * perPage
	for i := start; i < len(c.products) && i < start+perPage; i++ {
		out = append(out, toProductResponse(c.products[i]))
	}
	c.mu.Unlock()
	s.writeUsage(w)
	writeJSON(w, http.StatusOK, out)
}

func (c *catalogState) takeFailure() (status int, fail bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.served++
	if c.failStatus == 0 || c.served <= c.failAfter {
		return 0, false
	}
	c.stats.InjectedFailures++
	return c.failStatus, true
}

// parsePaging reads page (from 1) and per_page (1 to MaxProductsPerPage).
// Other query parameters, such as updated_since, are not simulated and
// rejected, so that a test cannot pass on a filter the server ignored.
func parsePaging(r *http.Request) (page, perPage int, err error) {
	query := r.URL.Query()
	for key := range query {
		if key != "page" && key != "per_page" {
			return 0, 0, fmt.Errorf("query parameter %q is not simulated; only page and per_page are", key)
		}
	}
	page, perPage = 1, DefaultProductsPerPage
	if text := query.Get("page"); text != "" {
		page, err = strconv.Atoi(text)
		if err != nil || page < 1 {
			return 0, 0, fmt.Errorf("page is %q, expected an integer from 1", text)
		}
	}
	if text := query.Get("per_page"); text != "" {
		perPage, err = strconv.Atoi(text)
		if err != nil || perPage < 1 || perPage > MaxProductsPerPage {
			return 0, 0, fmt.Errorf("per_page is %q, expected an integer from 1 to %d", text, MaxProductsPerPage)
		}
	}
	return page, perPage, nil
}

func toProductResponse(p Product) productResponse {
	out := productResponse{ID: p.ID, Title: p.Title, Variants: make([]variantResponse, len(p.Variants))}
	for i, v := range p.Variants {
		out.Variants[i] = variantResponse{ID: v.ID, ProductID: p.ID, SKU: v.SKU, Title: v.Title}
		if v.Barcode != "" {
			barcode := v.Barcode
			out.Variants[i].Barcode = &barcode
		}
	}
	return out
}
