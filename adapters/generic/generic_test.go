package generic_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"obmenhub/adapters"
	"obmenhub/adapters/generic"
	"obmenhub/hub/model"
	"obmenhub/retry"
)

var start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// recorded is one request that the test server received.
type recorded struct {
	Method string
	Path   string
	Header http.Header
	Body   string
}

// store is a test server that records requests and responds with the
// status and body the test sets.
type store struct {
	URL string

	mu           sync.Mutex
	requests     []recorded
	status       int
	responseBody string
	failNext     int
}

func newStore(t *testing.T) *store {
	t.Helper()
	s := &store{status: http.StatusOK}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.requests = append(s.requests, recorded{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: string(body)})
		if s.failNext > 0 {
			s.failNext--
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(s.status)
		_, _ = io.WriteString(w, s.responseBody)
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

func (s *store) respondWith(status int, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status, s.responseBody = status, body
}

func (s *store) received() []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recorded(nil), s.requests...)
}

func newAdapter(t *testing.T, cfg generic.Config) *generic.Adapter {
	t.Helper()
	a, err := generic.New(cfg, generic.Options{
		Channel: "shop",
		Clock:   retry.NewManualClock(start),
		Policy:  retry.Policy{Jitter: retry.JitterNone},
	})
	if err != nil {
		t.Fatalf("generic.New: %v", err)
	}
	return a
}

const jsonArrayBody = `[{{range $i, $it := .Items}}{{if $i}},{{end}}{"sku":{{json $it.SKU}},"id":{{json $it.ExternalID}},"qty":{{$it.Quantity}}}{{end}}]`

func stockItems() []adapters.StockItem {
	return []adapters.StockItem{
		{SKU: `A "quoted"`, ExternalID: "1", Quantity: 5},
		{SKU: "B", ExternalID: "2", Quantity: 0},
		{SKU: "C", ExternalID: "3", Quantity: 12},
	}
}

func TestJSONArrayBody(t *testing.T) {
	s := newStore(t)
	a := newAdapter(t, generic.Config{URL: s.URL + "/api/stock", BatchSize: 2, Stock: generic.OperationConfig{Body: jsonArrayBody}})

	results, err := a.PushStock(context.Background(), stockItems())
	if err != nil {
		t.Fatalf("PushStock: %v", err)
	}
	for _, r := range results {
		if r.Err != nil {
			t.Errorf("%s: %v", r.SKU, r.Err)
		}
	}

	reqs := s.received()
	if len(reqs) != 2 {
		t.Fatalf("got %d requests, want 2 (batch_size 2, 3 items)", len(reqs))
	}
	var first []map[string]any
	if err := json.Unmarshal([]byte(reqs[0].Body), &first); err != nil {
		t.Fatalf("first body %q is not a JSON array: %v", reqs[0].Body, err)
	}
	if len(first) != 2 || first[0]["sku"] != `A "quoted"` || first[0]["qty"] != 5.0 || first[1]["id"] != "2" {
		t.Errorf("first body = %v", first)
	}
	if reqs[0].Method != http.MethodPost || reqs[0].Path != "/api/stock" {
		t.Errorf("request = %s %s, want POST /api/stock", reqs[0].Method, reqs[0].Path)
	}
	if got := reqs[0].Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", got)
	}
}

func TestFormBody(t *testing.T) {
	s := newStore(t)
	a := newAdapter(t, generic.Config{
		URL:         s.URL + "/stock.php",
		Method:      "put",
		ContentType: "application/x-www-form-urlencoded",
		Stock: generic.OperationConfig{
			Body: `kind={{.Kind}}{{range .Items}}&stock[{{urlquery .ExternalID}}]={{.Quantity}}{{end}}`,
		},
	})
	items := []adapters.StockItem{{SKU: "A", ExternalID: "x&y", Quantity: 3}, {SKU: "B", ExternalID: "z", Quantity: 0}}

	if _, err := a.PushStock(context.Background(), items); err != nil {
		t.Fatalf("PushStock: %v", err)
	}
	reqs := s.received()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests, want 1", len(reqs))
	}
	if reqs[0].Method != http.MethodPut {
		t.Errorf("method = %s, want PUT", reqs[0].Method)
	}
	if got := reqs[0].Header.Get("Content-Type"); got != "application/x-www-form-urlencoded" {
		t.Errorf("Content-Type = %q", got)
	}
	form, err := url.ParseQuery(reqs[0].Body)
	if err != nil {
		t.Fatalf("body %q is not a form: %v", reqs[0].Body, err)
	}
	want := url.Values{"kind": {"stock"}, "stock[x&y]": {"3"}, "stock[z]": {"0"}}
	for k, v := range want {
		if got := form.Get(k); got != v[0] {
			t.Errorf("form %s = %q, want %q (body %q)", k, got, v[0], reqs[0].Body)
		}
	}
}

func TestAuthHeaders(t *testing.T) {
	env := map[string]string{"SHOP_PASSWORD": "p@ss", "SHOP_TOKEN": "tok-123", "SHOP_KEY": "key-9"}
	tests := []struct {
		name       string
		auth       generic.AuthConfig
		header     string
		wantHeader string
	}{
		{"basic", generic.AuthConfig{Type: "basic", User: "hub", PasswordEnv: "SHOP_PASSWORD"}, "Authorization",
			"Basic " + base64.StdEncoding.EncodeToString([]byte("hub:p@ss"))},
		{"bearer", generic.AuthConfig{Type: "bearer", TokenEnv: "SHOP_TOKEN"}, "Authorization", "Bearer tok-123"},
		{"header", generic.AuthConfig{Type: "header", Name: "X-Api-Key", ValueEnv: "SHOP_KEY"}, "X-Api-Key", "key-9"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			cfg := generic.Config{URL: s.URL, Auth: tc.auth, Headers: map[string]string{"X-Source": "obmenhub"}, Stock: generic.OperationConfig{Body: jsonArrayBody}}
			if err := cfg.Resolve(func(k string) string { return env[k] }); err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			a := newAdapter(t, cfg)

			if _, err := a.PushStock(context.Background(), stockItems()[:1]); err != nil {
				t.Fatalf("PushStock: %v", err)
			}
			h := s.received()[0].Header
			if got := h.Get(tc.header); got != tc.wantHeader {
				t.Errorf("%s = %q, want %q", tc.header, got, tc.wantHeader)
			}
			if got := h.Get("X-Source"); got != "obmenhub" {
				t.Errorf("X-Source = %q, want obmenhub", got)
			}
		})
	}
}

func TestResolveMissingEnv(t *testing.T) {
	tests := []struct {
		name string
		auth generic.AuthConfig
		want string
	}{
		{"basic", generic.AuthConfig{Type: "basic", User: "hub", PasswordEnv: "SHOP_PASSWORD"}, "auth.password_env names environment variable SHOP_PASSWORD"},
		{"bearer", generic.AuthConfig{Type: "bearer", TokenEnv: "SHOP_TOKEN"}, "auth.token_env names environment variable SHOP_TOKEN"},
		{"header", generic.AuthConfig{Type: "header", Name: "X-Api-Key", ValueEnv: "SHOP_KEY"}, "auth.value_env names environment variable SHOP_KEY"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := generic.Config{Auth: tc.auth}
			err := cfg.Resolve(func(string) string { return "" })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Resolve = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestNewRequiresResolvedSecret(t *testing.T) {
	cfg := generic.Config{URL: "http://127.0.0.1:1", Auth: generic.AuthConfig{Type: "bearer", TokenEnv: "SHOP_TOKEN"}, Stock: generic.OperationConfig{Body: jsonArrayBody}}
	_, err := generic.New(cfg, generic.Options{Channel: "shop"})
	if err == nil || !strings.Contains(err.Error(), "Resolve") {
		t.Errorf("New = %v, want an error that says to call Resolve", err)
	}
}

func TestItemErrorsFromAnswer(t *testing.T) {
	s := newStore(t)
	s.respondWith(http.StatusMultiStatus, `{"result":{"failed":[
		{"item":{"id":"2"},"code":"NOT_FOUND","message":"no such product"},
		{"item":{"id":"3"},"code":"LOCKED","message":"product is being edited"},
		{"item":{"id":"99"},"code":"NOT_FOUND","message":"not in the request"}
	]}}`)
	a := newAdapter(t, generic.Config{
		URL:   s.URL,
		Stock: generic.OperationConfig{Body: jsonArrayBody},
		Response: generic.ResponseConfig{
			SuccessStatus: []int{200, 207},
			ItemErrors: &generic.ItemErrorsConfig{
				Path: "result.failed", IDField: "item.id", MessageField: "message", CodeField: "code",
				RetriableCodes: []string{"LOCKED"},
			},
		},
	})

	results, err := a.PushStock(context.Background(), stockItems())
	if err != nil {
		t.Fatalf("PushStock: %v", err)
	}
	want := []retry.Class{retry.ClassNone, retry.ClassPermanent, retry.ClassRetriable}
	for i, w := range want {
		if got := retry.Classify(results[i].Err); got != w {
			t.Errorf("%s: class %s (%v), want %s", results[i].SKU, got, results[i].Err, w)
		}
	}
	var itemErr *generic.ItemError
	if !errors.As(results[1].Err, &itemErr) {
		t.Fatalf("error %v is not a *generic.ItemError", results[1].Err)
	}
	if itemErr.Code != "NOT_FOUND" || itemErr.Message != "no such product" || itemErr.ID != "2" {
		t.Errorf("ItemError = %+v", itemErr)
	}
}

func TestItemErrorWithoutIDFailsAll(t *testing.T) {
	s := newStore(t)
	s.respondWith(http.StatusOK, `{"errors":[{"message":"catalog is being reindexed"}]}`)
	a := newAdapter(t, generic.Config{
		URL:   s.URL,
		Stock: generic.OperationConfig{Body: jsonArrayBody},
		Response: generic.ResponseConfig{ItemErrors: &generic.ItemErrorsConfig{
			Path: "errors", IDField: "sku", Match: "sku", MessageField: "message", Class: "retriable",
		}},
	})

	results, err := a.PushStock(context.Background(), stockItems())
	if err != nil {
		t.Fatalf("PushStock: %v", err)
	}
	for _, r := range results {
		if retry.Classify(r.Err) != retry.ClassRetriable || !strings.Contains(r.Err.Error(), "reindexed") {
			t.Errorf("%s: %v, want a retriable error with the message", r.SKU, r.Err)
		}
	}
}

func TestWholeRequestStatuses(t *testing.T) {
	s := newStore(t)
	a := newAdapter(t, generic.Config{URL: s.URL, Stock: generic.OperationConfig{Body: jsonArrayBody}, Response: generic.ResponseConfig{SuccessStatus: []int{200}}})
	items := stockItems()[:1]

	s.mu.Lock()
	s.failNext = 2
	s.mu.Unlock()
	if _, err := a.PushStock(context.Background(), items); err != nil {
		t.Fatalf("PushStock after two 503s: %v", err)
	}
	if got := len(s.received()); got != 3 {
		t.Errorf("store got %d requests, want 3", got)
	}

	s.respondWith(http.StatusUnprocessableEntity, `{"error":"bad"}`)
	if _, err := a.PushStock(context.Background(), items); retry.Classify(err) != retry.ClassPermanent {
		t.Errorf("422: %v, want permanent", err)
	}

	s.respondWith(http.StatusAccepted, ``)
	_, err := a.PushStock(context.Background(), items)
	if retry.Classify(err) != retry.ClassPermanent || !strings.Contains(err.Error(), "response.success_status") {
		t.Errorf("202 outside success_status: %v, want a permanent error naming response.success_status", err)
	}
}

func TestPricesTemplate(t *testing.T) {
	s := newStore(t)
	a := newAdapter(t, generic.Config{
		URL:   s.URL + "/stock",
		Stock: generic.OperationConfig{Body: jsonArrayBody},
		Price: &generic.OperationConfig{URL: s.URL + "/prices", Method: "PATCH", Body: `{"kind":{{json .Kind}},"prices":{{json .Items}}}`},
	})
	pusher, ok := a.PricePusher()
	if !ok {
		t.Fatal("PricePusher() = false with a price section")
	}

	_, err := pusher.PushPrices(context.Background(), []adapters.PriceItem{
		{SKU: "A", ExternalID: "1", Price: model.MustDecimal("1990.50"), OldPrice: model.MustDecimal("2490"), Currency: "RUB"},
		{SKU: "B", ExternalID: "2", Price: model.MustDecimal("10")},
	})
	if err != nil {
		t.Fatalf("PushPrices: %v", err)
	}
	req := s.received()[0]
	if req.Method != http.MethodPatch || req.Path != "/prices" {
		t.Errorf("request = %s %s, want PATCH /prices", req.Method, req.Path)
	}
	const want = `{"kind":"price","prices":[{"sku":"A","external_id":"1","price":"1990.5","old_price":"2490","currency":"RUB"},{"sku":"B","external_id":"2","price":"10"}]}`
	if req.Body != want {
		t.Errorf("body = %s\nwant   %s", req.Body, want)
	}
}

func TestNoPriceSection(t *testing.T) {
	a := newAdapter(t, generic.Config{URL: "http://127.0.0.1:1", Stock: generic.OperationConfig{Body: jsonArrayBody}})
	if _, ok := a.PricePusher(); ok {
		t.Error("PricePusher() = true without a price section")
	}
	_, err := a.PushPrices(context.Background(), []adapters.PriceItem{{SKU: "A", Price: model.MustDecimal("1")}})
	if retry.Classify(err) != retry.ClassPermanent {
		t.Errorf("PushPrices = %v, want permanent", err)
	}
}

func TestConfigErrorsNameKeys(t *testing.T) {
	valid := func() generic.Config {
		return generic.Config{URL: "https://shop.example/api", Stock: generic.OperationConfig{Body: jsonArrayBody}}
	}
	tests := []struct {
		name   string
		modify func(*generic.Config)
		want   string
	}{
		{"template syntax", func(c *generic.Config) { c.Stock.Body = `{{range .Items}}` }, "stock.body: invalid template"},
		{"unknown field", func(c *generic.Config) { c.Stock.Body = `{{range .Items}}{{.Price}}{{end}}` }, "stock.body: fails on sample stock items"},
		{"unknown helper", func(c *generic.Config) { c.Stock.Body = `{{yaml .Items}}` }, "stock.body: invalid template"},
		{"unquoted json", func(c *generic.Config) {
			c.Stock.Body = `[{{range $i, $it := .Items}}{{if $i}},{{end}}"{{$it.SKU}}"{{end}}]`
		}, "{{json .SKU}}"},
		{"quantity in price template", func(c *generic.Config) {
			c.Price = &generic.OperationConfig{Body: `{{range .Items}}{{.Quantity}}{{end}}`}
		}, "price.body"},
		{"empty body", func(c *generic.Config) { c.Stock.Body = " " }, "stock.body is empty"},
		{"no url", func(c *generic.Config) { c.URL = "" }, "stock.url and url are both empty"},
		{"relative url", func(c *generic.Config) { c.URL = "/api" }, "url:"},
		{"bad method", func(c *generic.Config) { c.Method = "GET" }, `method "GET"`},
		{"bad auth type", func(c *generic.Config) { c.Auth.Type = "oauth" }, `auth.type "oauth"`},
		{"basic without user", func(c *generic.Config) { c.Auth = generic.AuthConfig{Type: "basic", PasswordEnv: "P"} }, "auth.user is empty"},
		{"header without name", func(c *generic.Config) { c.Auth = generic.AuthConfig{Type: "header", ValueEnv: "V"} }, "auth.name is empty"},
		{"content-type header", func(c *generic.Config) { c.Headers = map[string]string{"content-type": "text/plain"} }, "content_type"},
		{"negative batch", func(c *generic.Config) { c.BatchSize = -5 }, "batch_size -5"},
		{"bad status", func(c *generic.Config) { c.Response.SuccessStatus = []int{99} }, "response.success_status"},
		{"item errors without id", func(c *generic.Config) { c.Response.ItemErrors = &generic.ItemErrorsConfig{Path: "errors"} }, "response.item_errors.id_field"},
		{"bad class", func(c *generic.Config) {
			c.Response.ItemErrors = &generic.ItemErrorsConfig{Path: "errors", IDField: "id", Class: "maybe"}
		}, "response.item_errors.class"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := valid()
			tc.modify(&cfg)
			cfg.SetDefaults()
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate = %v, want an error containing %q", err, tc.want)
			}
		})
	}

	cfg := valid()
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
}

func TestRenderRejectsInvalidJSON(t *testing.T) {
	// The template passes the dry run but cannot handle a SKU with a
	// line break, which would break the unquoted JSON string.
	s := newStore(t)
	a := newAdapter(t, generic.Config{URL: s.URL, Stock: generic.OperationConfig{Body: `{"note":"{{printf "%.6s" (index .Items 0).SKU}}"}`}})

	_, err := a.PushStock(context.Background(), []adapters.StockItem{{SKU: "X\nY", Quantity: 1}})
	if retry.Classify(err) != retry.ClassPermanent || !strings.Contains(err.Error(), "not valid JSON") {
		t.Errorf("PushStock = %v, want a permanent error about invalid JSON", err)
	}
	if got := len(s.received()); got != 0 {
		t.Errorf("store got %d requests, want 0", got)
	}
}

// channelYAML is a generic channel as the hub's config would carry it
// under a channel's generic: key.
const channelYAML = `
url: https://shop.example/api/v1/stock
method: POST
auth:
  type: basic
  user: hub
  password_env: SHOP_PASSWORD
headers:
  X-Source: obmenhub
batch_size: 50
requests_per_minute: 120
timeout: 15s
stock:
  body: |
    {"items": [
    {{- range $i, $it := .Items}}{{if $i}},{{end}}
      {"id": {{json $it.ExternalID}}, "qty": {{$it.Quantity}}}
    {{- end}}]}
price:
  url: https://shop.example/api/v1/prices
  body: '{"prices": {{json .Items}}}'
response:
  success_status: [200, 207]
  item_errors:
    path: errors
    id_field: id
    message_field: message
    code_field: code
    retriable_codes: [LOCKED]
`

func TestDecodeYAML(t *testing.T) {
	var cfg generic.Config
	if err := yaml.UnmarshalWithOptions([]byte(channelYAML), &cfg, yaml.Strict()); err != nil {
		t.Fatalf("decode: %v", err)
	}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if err := cfg.Resolve(func(k string) string { return map[string]string{"SHOP_PASSWORD": "secret"}[k] }); err != nil {
		t.Fatalf("Resolve: %v", err)
	}

	checks := []struct {
		name      string
		got, want any
	}{
		{"url", cfg.URL, "https://shop.example/api/v1/stock"},
		{"auth.type", cfg.Auth.Type, "basic"},
		{"auth.user", cfg.Auth.User, "hub"},
		{"resolved password", cfg.Auth.Password, "secret"},
		{"headers", cfg.Headers["X-Source"], "obmenhub"},
		{"batch_size", cfg.BatchSize, 50},
		{"requests_per_minute", cfg.RequestsPerMinute, 120.0},
		{"timeout", cfg.Timeout, 15 * time.Second},
		{"content_type default", cfg.ContentType, "application/json"},
		{"price.url", cfg.Price.URL, "https://shop.example/api/v1/prices"},
		{"success_status", len(cfg.Response.SuccessStatus), 2},
		{"item_errors.match default", cfg.Response.ItemErrors.Match, "external_id"},
		{"item_errors.class default", cfg.Response.ItemErrors.Class, "permanent"},
		{"retriable_codes", cfg.Response.ItemErrors.RetriableCodes[0], "LOCKED"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if !strings.Contains(cfg.Stock.Body, "{{json $it.ExternalID}}") {
		t.Errorf("stock.body lost its template: %q", cfg.Stock.Body)
	}
}

func TestDecodeYAMLRejectsInlineSecret(t *testing.T) {
	const inline = "url: https://shop.example\nauth:\n  type: bearer\n  token: abc\nstock:\n  body: x\n"
	var cfg generic.Config
	err := yaml.UnmarshalWithOptions([]byte(inline), &cfg, yaml.Strict())
	if err == nil || !strings.Contains(err.Error(), "token") {
		t.Errorf("decode = %v, want an unknown-field error naming token", err)
	}
}
