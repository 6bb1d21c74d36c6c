package webstoresim_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"obmenhub/e2e/webstoresim"
	"obmenhub/retry"
)

var start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// post sends body signed as the webstore documentation describes, with
// the signature computed here rather than by the adapter's code.
func post(t *testing.T, sim *webstoresim.Server, secret, event, delivery string, sentAt time.Time, body string) *http.Response {
	t.Helper()
	ts := strconv.FormatInt(sentAt.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + body))

	req, err := http.NewRequest(http.MethodPost, sim.WebhookURL, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Obmenhub-Event", event)
	req.Header.Set("X-Obmenhub-Delivery", delivery)
	req.Header.Set("X-Obmenhub-Timestamp", ts)
	req.Header.Set("X-Obmenhub-Signature", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

const stockBody = `{"event":"stock.updated","delivery_id":"d1","sent_at":"2026-03-02T09:00:00Z","items":[{"sku":"A","external_id":"1","quantity":3},{"sku":"B","external_id":"2","quantity":1}]}`

func TestSignedStockApplied(t *testing.T) {
	sim := webstoresim.NewTest(t, webstoresim.Config{Clock: retry.NewManualClock(start)})
	sim.RejectSKU("B", "archived", false)

	resp := post(t, sim, webstoresim.DefaultSecret, "stock.updated", "d1", start, stockBody)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	var answer struct {
		Rejected []struct {
			SKU       string `json:"sku"`
			Error     string `json:"error"`
			Retriable bool   `json:"retriable"`
		} `json:"rejected"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		t.Fatal(err)
	}
	if len(answer.Rejected) != 1 || answer.Rejected[0].SKU != "B" || answer.Rejected[0].Error != "archived" {
		t.Errorf("rejected = %+v, want B archived", answer.Rejected)
	}
	if got, _ := sim.Stock("A"); got != 3 {
		t.Errorf("stock of A = %d, want 3", got)
	}
	if _, ok := sim.Stock("B"); ok {
		t.Error("rejected SKU B was stored")
	}

	// The same delivery again gets its first response again but is not applied.
	post(t, sim, webstoresim.DefaultSecret, "stock.updated", "d1", start, stockBody)
	if s := sim.Stats(); s.Deliveries != 1 || s.DuplicateDeliveries != 1 {
		t.Errorf("deliveries %d, duplicates %d; want 1 and 1", s.Deliveries, s.DuplicateDeliveries)
	}
}

func TestUnauthenticatedRejected(t *testing.T) {
	sim := webstoresim.NewTest(t, webstoresim.Config{Clock: retry.NewManualClock(start)})

	if resp := post(t, sim, "wrong-secret-000000", "stock.updated", "d1", start, stockBody); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong secret: status %d, want 401", resp.StatusCode)
	}
	if resp := post(t, sim, webstoresim.DefaultSecret, "stock.updated", "d1", start.Add(-6*time.Minute), stockBody); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("stale timestamp: status %d, want 401", resp.StatusCode)
	}
	s := sim.Stats()
	if s.SignatureFailures != 1 || s.StaleTimestamps != 1 {
		t.Errorf("signature failures %d, stale %d; want 1 and 1", s.SignatureFailures, s.StaleTimestamps)
	}
	if len(sim.Snapshot()) != 0 {
		t.Error("an unauthenticated request changed stock")
	}
}

func TestMalformedBodyRejected(t *testing.T) {
	sim := webstoresim.NewTest(t, webstoresim.Config{Clock: retry.NewManualClock(start)})
	bodies := map[string]string{
		"negative quantity": `{"event":"stock.updated","delivery_id":"d2","sent_at":"2026-03-02T09:00:00Z","items":[{"sku":"A","external_id":"1","quantity":-1}]}`,
		"price as number":   `{"event":"price.updated","delivery_id":"d2","sent_at":"2026-03-02T09:00:00Z","items":[{"sku":"A","external_id":"1","price":10}]}`,
		"unknown field":     `{"event":"stock.updated","delivery_id":"d2","sent_at":"2026-03-02T09:00:00Z","items":[{"sku":"A","qty":1}]}`,
		"no items":          `{"event":"stock.updated","delivery_id":"d2","sent_at":"2026-03-02T09:00:00Z","items":[]}`,
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			event := "stock.updated"
			if strings.Contains(body, "price.updated") {
				event = "price.updated"
			}
			if resp := post(t, sim, webstoresim.DefaultSecret, event, "d2", start, body); resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status %d, want 400", resp.StatusCode)
			}
		})
	}
}

func TestFailNextAndSnapshot(t *testing.T) {
	sim := webstoresim.NewTest(t, webstoresim.Config{Clock: retry.NewManualClock(start)})
	sim.FailNext(1)

	if resp := post(t, sim, webstoresim.DefaultSecret, "stock.updated", "d1", start, stockBody); resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("first request: status %d, want 500", resp.StatusCode)
	}
	if resp := post(t, sim, webstoresim.DefaultSecret, "stock.updated", "d1", start, stockBody); resp.StatusCode != http.StatusOK {
		t.Errorf("second request: status %d, want 200", resp.StatusCode)
	}

	resp, err := http.Get(sim.URL + "/sim/stocks")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(page), `{"sku":"A","quantity":3}`) {
		t.Errorf("GET /sim/stocks = %s, want SKU A with quantity 3", page)
	}
}
