package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"obmenhub/e2e/insalessim"
	"obmenhub/e2e/ozonsim"
	"obmenhub/e2e/testdata"
	"obmenhub/e2e/wbsim"
	"obmenhub/e2e/webstoresim"
	"obmenhub/hub/exchange/client"
	"obmenhub/hub/model"
	"obmenhub/retry"
)

// genericShop is a store API that no adapter knows: the test describes it
// to the hub in YAML alone. It takes {"items":[{"id","qty"}]} and
// {"prices":[{"id","price"}]} and records what it got.
type genericShop struct {
	mu     sync.Mutex
	stock  map[string]int64
	prices map[string]string
	server *httptest.Server
}

func newGenericShop(t *testing.T) *genericShop {
	g := &genericShop{stock: map[string]int64{}, prices: map[string]string{}}
	g.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer shop-token" {
			http.Error(w, "bad token", http.StatusUnauthorized)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var in struct {
			Items []struct {
				ID  string `json:"id"`
				Qty int64  `json:"qty"`
			} `json:"items"`
			Prices []struct {
				ID    string `json:"id"`
				Price string `json:"price"`
			} `json:"prices"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		g.mu.Lock()
		for _, it := range in.Items {
			g.stock[it.ID] = it.Qty
		}
		for _, p := range in.Prices {
			g.prices[p.ID] = p.Price
		}
		g.mu.Unlock()
		w.Write([]byte(`{"errors":[]}`))
	}))
	t.Cleanup(g.server.Close)
	return g
}

func (g *genericShop) get(id string) (int64, string, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	q, ok := g.stock[id]
	return q, g.prices[id], ok
}

// sameDecimal reports whether two decimal texts are one number.
func sameDecimal(a, b string) bool {
	x, err1 := model.ParseDecimal(strings.Trim(a, `"`))
	y, err2 := model.ParseDecimal(strings.Trim(b, `"`))
	return err1 == nil && err2 == nil && x.Cmp(y.Decimal) == 0
}

// TestEveryChannel sends one real 1C package (goods, offers, prices and
// rests in separate files) to every kind of channel at once and checks
// each one's stock and prices against an independent reading of the XML:
// Ozon, Wildberries, InSales, a web store that takes signed webhooks, a
// web store that polls the feed, and a channel described in YAML alone.
func TestEveryChannel(t *testing.T) {
	cml := func(name string) string { return testdata.Path(t, "commerceml", name) }
	files := []string{
		cml("gillbeits__import___b815e2db-7a65-4265-9241-5f0c4f0565a7.xml"),
		cml("gillbeits__offers___7f304edc-2527-4d3d-b058-6e4ee53de2e0.xml"),
		cml("gillbeits__prices___d66a6b51-ce9c-4e7a-8c7c-25079721107f.xml"),
		cml("gillbeits__rests___1af6e7b8-a026-4690-9752-1c9d64cb914d.xml"),
	}
	const priceType = "4d968229-47ba-11e4-a628-003048c64779"
	wantStock := expectedStock(t, nil, files...)
	wantPrice := expectedPrices(t, priceType, files...)
	if len(wantPrice) < 900 {
		t.Fatalf("oracle found %d prices, want the package's 978", len(wantPrice))
	}
	skus := skusOf(wantStock)
	index := chrtIndex(skus)

	clock := retry.NewScaledClock(timeScale)
	ozon := ozonsim.NewTest(t, ozonsim.Config{ClientID: "e2e-client", APIKey: "e2e-ozon-key", Clock: clock, Logger: testLog()})
	wb := wbsim.NewTest(t, wbsim.Config{Token: "e2e-wb-token", Clock: clock, Logger: testLog()})
	ins := insalessim.NewTest(t, insalessim.Config{Login: "app", Password: "e2e-insales", Clock: clock, Logger: testLog()})
	store := webstoresim.NewTest(t, webstoresim.Config{Secret: "e2e-store-secret-0001", Clock: clock, Logger: testLog()})
	shop := newGenericShop(t)

	dir := t.TempDir()
	mapFile := filepath.Join(dir, "ids.csv")
	var m strings.Builder
	m.WriteString("sku,external_id\n")
	for _, sku := range skus {
		fmt.Fprintf(&m, "%s,%s\n", sku, index[sku])
	}
	if err := os.WriteFile(mapFile, []byte(m.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	nmFile := filepath.Join(dir, "nm.csv")
	nmOf := map[string]string{}
	m.Reset()
	m.WriteString("sku,external_id\n")
	for i, sku := range skus {
		nmOf[sku] = fmt.Sprint(700000 + i)
		fmt.Fprintf(&m, "%s,%s\n", sku, nmOf[sku])
	}
	if err := os.WriteFile(nmFile, []byte(m.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"E2E_EXCHANGE_PASSWORD": "e2e-pass", "E2E_OZON_KEY": "e2e-ozon-key", "E2E_WB_TOKEN": "e2e-wb-token",
		"E2E_INSALES_PASSWORD": "e2e-insales", "E2E_STORE_SECRET": "e2e-store-secret-0001", "E2E_SHOP_TOKEN": "shop-token"} {
		t.Setenv(k, v)
	}
	yaml := fmt.Sprintf(`
listen: 127.0.0.1:0
store: {path: %q}
exchange: {username: 1c, password_env: E2E_EXCHANGE_PASSWORD, dir: %q, zip: true, progress_after: 1ms}
channels:
  - {name: ozon, kind: ozon, base_url: %q, client_id: e2e-client, api_key_env: E2E_OZON_KEY, warehouse_id: %d, prices: {price_type: %s}}
  - name: wildberries
    kind: wildberries
    base_url: %q
    token_env: E2E_WB_TOKEN
    warehouse_id: %d
    binding: {by: map, file: %q}
    # Wildberries takes prices by nmID, not by the chrtId of stock.
    prices: {price_type: %s, binding: {by: map, file: %q}}
  - name: insales
    kind: insales
    base_url: %q
    login: app
    password_env: E2E_INSALES_PASSWORD
    binding: {by: map, file: %q}
    prices: {price_type: %s}
  - name: store-push
    kind: webstore
    webstore: {webhook_url: %q, secret_env: E2E_STORE_SECRET}
    prices: {price_type: %s}
  - name: store-pull
    kind: webstore
    webstore: {pull: true}
    prices: {price_type: %s}
  - name: shop
    kind: generic
    prices: {price_type: %s}
    generic:
      url: %q
      auth: {type: bearer, token_env: E2E_SHOP_TOKEN}
      batch_size: 200
      requests_per_minute: 6000
      stock:
        body: '{"items": [{{range $i, $it := .Items}}{{if $i}},{{end}}{"id": {{json $it.ExternalID}}, "qty": {{$it.Quantity}}}{{end}}]}'
      price:
        body: '{"prices": [{{range $i, $it := .Items}}{{if $i}},{{end}}{"id": {{json $it.ExternalID}}, "price": {{json $it.Price}}}{{end}}]}'
`, filepath.Join(dir, "hub.db"), filepath.Join(dir, "exchange"),
		ozon.URL, ozonWarehouse, priceType, wb.URL, wbWarehouse, mapFile, priceType, nmFile,
		ins.URL, mapFile, priceType,
		store.WebhookURL, priceType, priceType, priceType, shop.server.URL)
	a := runHub(t, yaml, clock, nil)

	c := &client.Client{URL: "http://" + a.Addr() + "/1c/exchange", User: "1c", Password: "e2e-pass", ProgressPause: 5 * time.Millisecond, MaxChunk: 50000}
	if err := c.PostFiles(context.Background(), true, files...); err != nil {
		t.Fatalf("exchange: %v", err)
	}

	h := &harness{t: t, ozon: ozon, wb: wb}
	h.waitFor("Ozon", wantStock, h.ozonStock)
	h.waitFor("Wildberries", wantStock, h.wbStock(index))
	h.waitFor("InSales", wantStock, func(sku string) (int64, bool) { return ins.Stock(index[sku]) })
	h.waitFor("web store (push)", wantStock, store.Stock)
	h.waitFor("YAML-only channel", wantStock, func(sku string) (int64, bool) {
		q, _, ok := shop.get(sku)
		return q, ok
	})
	h.checkClean()

	checkPrices := func(name string, get func(sku string) (string, bool)) {
		t.Helper()
		bad := 0
		for sku, want := range wantPrice {
			got, ok := get(sku)
			if !ok || !sameDecimal(got, want) {
				if bad < 5 {
					t.Errorf("%s: price of %s = %q (present %v), want %s", name, sku, got, ok, want)
				}
				bad++
			}
		}
		if bad > 0 {
			t.Errorf("%s: %d of %d prices wrong", name, bad, len(wantPrice))
		}
	}
	// Prices reach Wildberries through an upload task that it processes
	// later, so they are waited for like stock.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if len(wb.Prices()) >= len(wantPrice) && len(ozon.Prices()) >= len(wantPrice) {
			break
		}
	}
	checkPrices("Ozon", func(sku string) (string, bool) {
		p, ok := ozon.Price(sku)
		return p.Price, ok
	})
	checkPrices("Wildberries", func(sku string) (string, bool) {
		p, ok := wb.Price(nmOf[sku])
		return fmt.Sprint(p.Price), ok && p.Discount == 0
	})
	checkPrices("InSales", func(sku string) (string, bool) {
		p, _, ok := ins.Price(index[sku])
		return strings.Trim(p, `"`), ok
	})
	checkPrices("web store (push)", func(sku string) (string, bool) {
		p, ok := store.Price(sku)
		return p.Price, ok
	})
	checkPrices("YAML-only channel", func(sku string) (string, bool) {
		_, p, ok := shop.get(sku)
		return p, ok && p != ""
	})

	// The polling store reads the feed page by page from the start.
	feed := map[string]struct {
		Quantity int64
		Price    string
	}{}
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("feed did not end after 100 pages")
		}
		resp, err := http.Get("http://" + a.Addr() + "/api/v1/channels/store-pull/feed?limit=300&since=" + cursor)
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Items []struct {
				SKU      string          `json:"sku"`
				Quantity int64           `json:"quantity"`
				Price    json.RawMessage `json:"price"`
			}
			Next string
			More bool
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			feed[it.SKU] = struct {
				Quantity int64
				Price    string
			}{it.Quantity, string(it.Price)}
		}
		cursor = page.Next
		if !page.More {
			break
		}
	}
	for sku, q := range wantStock {
		got, ok := feed[sku]
		if !ok || got.Quantity != q {
			t.Errorf("feed: %s = %+v (present %v), want quantity %d", sku, got, ok, q)
			break
		}
	}
	checkPrices("web store (pull)", func(sku string) (string, bool) {
		it, ok := feed[sku]
		return it.Price, ok
	})
}
