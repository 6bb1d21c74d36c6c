package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"obmenhub/hub/api"
	"obmenhub/hub/ledger"
	"obmenhub/hub/model"
)

var start = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)

// reservationsServer is a ReservationsAPI on a SQLite ledger with a clock
// that the test moves and a record of OnChange calls.
type reservationsServer struct {
	app   *fiber.App
	store *ledger.SQLStore
	api   *api.ReservationsAPI
	now   time.Time

	mu      sync.Mutex
	changes [][]string
}

// newReservationsServer opens a ledger whose SKU A has 5 units and B has 2.
func newReservationsServer(t *testing.T) *reservationsServer {
	t.Helper()
	ctx := context.Background()
	store, err := ledger.OpenSQLite(ctx, ledger.SQLiteConfig{Path: filepath.Join(t.TempDir(), "ledger.db")})
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	tx, err := store.BeginFile(ctx, &model.Document{File: "stock.xml", Kind: model.KindOffers, Generated: start, ChangesOnly: true}, start)
	if err != nil {
		t.Fatalf("BeginFile: %v", err)
	}
	for sku, qty := range map[string]string{"A": "5", "B": "2"} {
		if err := tx.Offer(&model.Offer{SKU: sku, ProductID: sku, Stocks: []model.Stock{{Warehouse: "w1", Quantity: model.MustDecimal(qty)}}}); err != nil {
			t.Fatalf("Offer: %v", err)
		}
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatalf("Commit: %v", err)
	}

	s := &reservationsServer{store: store, now: start}
	s.api = &api.ReservationsAPI{
		Store:   store,
		Log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:     func() time.Time { return s.now },
		CartTTL: 15 * time.Minute,
		OnChange: func(skus []string) {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.changes = append(s.changes, slices.Sorted(slices.Values(skus)))
		},
	}
	s.app = fiber.New()
	s.api.Register(s.app)
	return s
}

// do sends a request and returns the status and the decoded JSON body.
func (s *reservationsServer) do(t *testing.T, method, path, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.app.Test(req, -1)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: body %q is not a JSON object: %v", method, path, raw, err)
	}
	return resp.StatusCode, out
}

func (s *reservationsServer) takeChanges() [][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.changes
	s.changes = nil
	return out
}

func wantStatus(t *testing.T, got, want int, body map[string]any) {
	t.Helper()
	if got != want {
		t.Fatalf("status = %d, want %d; body %v", got, want, body)
	}
}

func TestReservationCreateAndRepeat(t *testing.T) {
	s := newReservationsServer(t)
	body := `{"channel":"web","order_id":"1001","lines":[{"sku":"B","qty":1},{"sku":"A","qty":2}]}`
	status, got := s.do(t, http.MethodPost, "/api/v1/reservations", body)
	wantStatus(t, status, http.StatusCreated, got)
	if got["status"] != "active" || got["channel"] != "web" || got["order_id"] != "1001" {
		t.Errorf("body = %v, want active web/1001", got)
	}
	if want := start.Add(15 * time.Minute).Format(time.RFC3339); got["expires_at"] != want {
		t.Errorf("expires_at = %v, want %s from CartTTL", got["expires_at"], want)
	}
	lines, _ := json.Marshal(got["lines"])
	if string(lines) != `[{"qty":2,"sku":"A"},{"qty":1,"sku":"B"}]` {
		t.Errorf("lines = %s, want A:2 and B:1", lines)
	}
	if ch := s.takeChanges(); len(ch) != 1 || !slices.Equal(ch[0], []string{"A", "B"}) {
		t.Errorf("OnChange calls = %v, want one with [A B]", ch)
	}

	s.now = start.Add(time.Minute)
	status, again := s.do(t, http.MethodPost, "/api/v1/reservations",
		`{"channel":"web","order_id":"1001","lines":[{"sku":"A","qty":5}]}`)
	wantStatus(t, status, http.StatusOK, again)
	if again["created_at"] != got["created_at"] {
		t.Errorf("repeat created_at = %v, want the stored %v", again["created_at"], got["created_at"])
	}
	if ch := s.takeChanges(); len(ch) != 0 {
		t.Errorf("OnChange calls after repeat = %v, want none", ch)
	}
	reserved, err := s.store.Reserved(context.Background(), []string{"A", "B"})
	if err != nil {
		t.Fatalf("Reserved: %v", err)
	}
	if reserved["A"] != 2 || reserved["B"] != 1 {
		t.Errorf("reserved = %v, want A:2 B:1", reserved)
	}

	status, read := s.do(t, http.MethodGet, "/api/v1/reservations/web/1001", "")
	wantStatus(t, status, http.StatusOK, read)
	if read["created_at"] != got["created_at"] || read["status"] != "active" {
		t.Errorf("GET = %v, want the stored active reservation", read)
	}
}

func TestReservationTTL(t *testing.T) {
	s := newReservationsServer(t)
	status, got := s.do(t, http.MethodPost, "/api/v1/reservations",
		`{"channel":"web","order_id":"1","lines":[{"sku":"A","qty":1}],"ttl":"5m"}`)
	wantStatus(t, status, http.StatusCreated, got)
	if want := start.Add(5 * time.Minute).Format(time.RFC3339); got["expires_at"] != want {
		t.Errorf("expires_at = %v, want %s", got["expires_at"], want)
	}

	status, got = s.do(t, http.MethodPost, "/api/v1/reservations",
		`{"channel":"ozon","order_id":"2","lines":[{"sku":"A","qty":1}],"ttl":"0"}`)
	wantStatus(t, status, http.StatusCreated, got)
	if _, ok := got["expires_at"]; ok {
		t.Errorf("expires_at = %v, want none for ttl 0", got["expires_at"])
	}
}

func TestReservationInsufficient(t *testing.T) {
	s := newReservationsServer(t)
	status, got := s.do(t, http.MethodPost, "/api/v1/reservations",
		`{"channel":"web","order_id":"1","lines":[{"sku":"A","qty":1},{"sku":"B","qty":3},{"sku":"X","qty":1}]}`)
	wantStatus(t, status, http.StatusConflict, got)
	shortages, _ := json.Marshal(got["shortages"])
	if string(shortages) != `[{"available":2,"requested":3,"sku":"B"},{"available":0,"requested":1,"sku":"X"}]` {
		t.Errorf("shortages = %s, want B (3 of 2) and X (1 of 0)", shortages)
	}
	if msg, _ := got["error"].(string); !strings.Contains(msg, "not enough stock") {
		t.Errorf("error = %q, want it to say there is not enough stock", msg)
	}
	if ch := s.takeChanges(); len(ch) != 0 {
		t.Errorf("OnChange calls = %v, want none", ch)
	}
	status, got = s.do(t, http.MethodGet, "/api/v1/reservations/web/1", "")
	wantStatus(t, status, http.StatusNotFound, got)
}

func TestReservationInvalidInput(t *testing.T) {
	s := newReservationsServer(t)
	tests := []struct {
		name, body, field string
	}{
		{"malformed JSON", `{"channel":`, "invalid JSON"},
		{"unknown field", `{"channel":"web","order_id":"1","lines":[{"sku":"A","qty":1}],"qty":1}`, `"qty"`},
		{"fractional qty", `{"channel":"web","order_id":"1","lines":[{"sku":"A","qty":1.5}]}`, "qty"},
		{"missing channel", `{"order_id":"1","lines":[{"sku":"A","qty":1}]}`, "channel"},
		{"missing order id", `{"channel":"web","lines":[{"sku":"A","qty":1}]}`, "order_id"},
		{"no lines", `{"channel":"web","order_id":"1","lines":[]}`, "lines"},
		{"missing SKU", `{"channel":"web","order_id":"1","lines":[{"sku":"A","qty":1},{"qty":1}]}`, "lines[1].sku"},
		{"zero qty", `{"channel":"web","order_id":"1","lines":[{"sku":"A","qty":0}]}`, "lines[0].qty"},
		{"repeated SKU", `{"channel":"web","order_id":"1","lines":[{"sku":"A","qty":1},{"sku":"A","qty":1}]}`, "lines[1].sku"},
		{"invalid ttl", `{"channel":"web","order_id":"1","lines":[{"sku":"A","qty":1}],"ttl":"soon"}`, "ttl"},
		{"negative ttl", `{"channel":"web","order_id":"1","lines":[{"sku":"A","qty":1}],"ttl":"-5m"}`, "ttl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, got := s.do(t, http.MethodPost, "/api/v1/reservations", tt.body)
			wantStatus(t, status, http.StatusBadRequest, got)
			if msg, _ := got["error"].(string); !strings.Contains(msg, tt.field) {
				t.Errorf("error = %q, want it to name %s", msg, tt.field)
			}
		})
	}
	reserved, err := s.store.Reserved(context.Background(), []string{"A"})
	if err != nil {
		t.Fatalf("Reserved: %v", err)
	}
	if len(reserved) != 0 {
		t.Errorf("reserved = %v, want nothing after invalid requests", reserved)
	}
}

func TestReservationReleaseAndCommit(t *testing.T) {
	s := newReservationsServer(t)
	for _, order := range []string{"1", "2"} {
		status, got := s.do(t, http.MethodPost, "/api/v1/reservations",
			`{"channel":"web","order_id":"`+order+`","lines":[{"sku":"A","qty":1}]}`)
		wantStatus(t, status, http.StatusCreated, got)
	}
	s.takeChanges()

	s.now = start.Add(time.Minute)
	status, got := s.do(t, http.MethodPost, "/api/v1/reservations/web/1/release", "")
	wantStatus(t, status, http.StatusOK, got)
	if got["status"] != "released" {
		t.Errorf("status = %v, want released", got["status"])
	}
	if ch := s.takeChanges(); len(ch) != 1 || !slices.Equal(ch[0], []string{"A"}) {
		t.Errorf("OnChange calls after release = %v, want one with [A]", ch)
	}

	s.now = start.Add(2 * time.Minute)
	status, got = s.do(t, http.MethodPost, "/api/v1/reservations/web/1/release", "")
	wantStatus(t, status, http.StatusOK, got)
	if ch := s.takeChanges(); len(ch) != 0 {
		t.Errorf("OnChange calls after a repeated release = %v, want none", ch)
	}
	status, got = s.do(t, http.MethodPost, "/api/v1/reservations/web/1/commit", "")
	wantStatus(t, status, http.StatusConflict, got)
	if msg, _ := got["error"].(string); !strings.Contains(msg, "released") {
		t.Errorf("error = %q, want it to say the reservation is released", msg)
	}

	status, got = s.do(t, http.MethodPost, "/api/v1/reservations/web/2/commit", "")
	wantStatus(t, status, http.StatusOK, got)
	if got["status"] != "committed" {
		t.Errorf("status = %v, want committed", got["status"])
	}
	status, got = s.do(t, http.MethodPost, "/api/v1/reservations/web/2/commit", "")
	wantStatus(t, status, http.StatusOK, got)
	status, got = s.do(t, http.MethodPost, "/api/v1/reservations/web/2/release", "")
	wantStatus(t, status, http.StatusConflict, got)

	for _, path := range []string{"/api/v1/reservations/web/9/release", "/api/v1/reservations/web/9/commit", "/api/v1/reservations/ozon/1"} {
		method := http.MethodPost
		if !strings.HasSuffix(path, "release") && !strings.HasSuffix(path, "commit") {
			method = http.MethodGet
		}
		status, got = s.do(t, method, path, "")
		wantStatus(t, status, http.StatusNotFound, got)
	}
}

func TestReservationEscapedOrderID(t *testing.T) {
	s := newReservationsServer(t)
	status, got := s.do(t, http.MethodPost, "/api/v1/reservations",
		`{"channel":"web","order_id":"2026/11#7","lines":[{"sku":"A","qty":1}]}`)
	wantStatus(t, status, http.StatusCreated, got)
	status, got = s.do(t, http.MethodGet, "/api/v1/reservations/web/2026%2F11%237", "")
	wantStatus(t, status, http.StatusOK, got)
	if got["order_id"] != "2026/11#7" {
		t.Errorf("order_id = %v, want 2026/11#7", got["order_id"])
	}
	status, got = s.do(t, http.MethodPost, "/api/v1/reservations/web/2026%2F11%237/release", "")
	wantStatus(t, status, http.StatusOK, got)
}

func TestReservationExpireDue(t *testing.T) {
	s := newReservationsServer(t)
	status, got := s.do(t, http.MethodPost, "/api/v1/reservations",
		`{"channel":"web","order_id":"cart","lines":[{"sku":"B","qty":2}]}`)
	wantStatus(t, status, http.StatusCreated, got)
	s.takeChanges()

	s.now = start.Add(10 * time.Minute)
	if err := s.api.ExpireDue(context.Background()); err != nil {
		t.Fatalf("ExpireDue: %v", err)
	}
	if ch := s.takeChanges(); len(ch) != 0 {
		t.Errorf("OnChange calls before the cart TTL = %v, want none", ch)
	}

	s.now = start.Add(16 * time.Minute)
	if err := s.api.ExpireDue(context.Background()); err != nil {
		t.Fatalf("ExpireDue: %v", err)
	}
	if ch := s.takeChanges(); len(ch) != 1 || !slices.Equal(ch[0], []string{"B"}) {
		t.Errorf("OnChange calls after the cart TTL = %v, want one with [B]", ch)
	}
	status, got = s.do(t, http.MethodGet, "/api/v1/reservations/web/cart", "")
	wantStatus(t, status, http.StatusOK, got)
	if got["status"] != "expired" {
		t.Errorf("status = %v, want expired", got["status"])
	}
}
