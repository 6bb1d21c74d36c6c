package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"obmenhub/e2e/wbsim"
	"obmenhub/e2e/webstoresim"
	"obmenhub/retry"
)

// scenarioPackage writes an offers package with one SKU, "kettle", that
// has qty units on warehouse wh-main.
func scenarioPackage(t *testing.T, dir string, minute int, qty int) string {
	t.Helper()
	text := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация ВерсияСхемы="2.08" ДатаФормирования="2026-12-01T10:%02d:00">
<ПакетПредложений СодержитТолькоИзменения="true"><Ид>p</Ид><ИдКаталога>c</ИдКаталога><Наименование>p</Наименование>
<Предложения><Предложение><Ид>kettle</Ид><Наименование>Чайник</Наименование><Склад ИдСклада="wh-main" КоличествоНаСкладе="%d"/></Предложение></Предложения>
</ПакетПредложений></КоммерческаяИнформация>`, minute, qty)
	path := filepath.Join(dir, fmt.Sprintf("offers-%02d.xml", minute))
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestVirtualWarehouseScenario is the case virtual warehouses exist for:
// 50 units are set aside for Wildberries, so Wildberries orders that take
// its 50 leave the web store and retail untouched; and when 2 units are
// left, the seller's own web store keeps them and the others show 0.
func TestVirtualWarehouseScenario(t *testing.T) {
	clock := retry.NewScaledClock(timeScale)
	store := webstoresim.NewTest(t, webstoresim.Config{Secret: "e2e-store-secret-0001", Clock: clock, Logger: testLog()})
	retail := webstoresim.NewTest(t, webstoresim.Config{Secret: "e2e-retail-secret-001", Clock: clock, Logger: testLog()})
	wb := wbsim.NewTest(t, wbsim.Config{Token: "e2e-wb-token", Clock: clock, Logger: testLog()})
	dir := t.TempDir()
	mapFile := filepath.Join(dir, "wb.csv")
	os.WriteFile(mapFile, []byte("sku,external_id\nkettle,100001\n"), 0o600)
	for k, v := range map[string]string{"E2E_EXCHANGE_PASSWORD": "e2e-pass", "E2E_WB_TOKEN": "e2e-wb-token",
		"E2E_STORE_SECRET": "e2e-store-secret-0001", "E2E_RETAIL_SECRET": "e2e-retail-secret-001"} {
		t.Setenv(k, v)
	}
	a := runHub(t, fmt.Sprintf(`
listen: 127.0.0.1:0
store: {path: %q}
exchange: {username: 1c, password_env: E2E_EXCHANGE_PASSWORD, dir: %q}
channels:
  - {name: store, kind: webstore, webstore: {webhook_url: %q, secret_env: E2E_STORE_SECRET}}
  - {name: retail, kind: webstore, webstore: {webhook_url: %q, secret_env: E2E_RETAIL_SECRET}}
  - {name: wildberries, kind: wildberries, base_url: %q, token_env: E2E_WB_TOKEN, warehouse_id: 1, binding: {by: map, file: %q}}
virtual_warehouses:
  - name: main
    warehouses: [wh-main]
    scarce_at: 2
    scarce_channels: 1
    bindings:
      - {channel: store, rule: all}
      - {channel: retail, rule: all}
      - {channel: wildberries, rule: fixed, quantity: 50}
`, filepath.Join(dir, "hub.db"), filepath.Join(dir, "x"), store.WebhookURL, retail.WebhookURL, wb.URL, mapFile), clock, nil)
	h := &harness{t: t, app: a, url: "http://" + a.Addr() + "/1c/exchange"}
	wbStock := func(string) (int64, bool) { return wb.Stock("100001", 1) }
	expect := func(step string, storeQty, retailQty, wbQty int64) {
		t.Helper()
		h.waitFor(step+": web store", map[string]int64{"kettle": storeQty}, store.Stock)
		h.waitFor(step+": retail", map[string]int64{"kettle": retailQty}, retail.Stock)
		h.waitFor(step+": Wildberries", map[string]int64{"kettle": wbQty}, wbStock)
	}

	post := func(minute, qty int) {
		t.Helper()
		if err := h.client().PostFiles(t.Context(), false, scenarioPackage(t, dir, minute, qty)); err != nil {
			t.Fatal(err)
		}
	}
	post(0, 60)
	expect("60 units", 10, 10, 50)

	// The web store shows 10, so it may reserve 10 and no more: the 50 set
	// aside for Wildberries are not its to sell. An unknown channel may
	// reserve nothing.
	reserve(t, a.Addr(), "store", "web-big", 11, http.StatusConflict)
	reserve(t, a.Addr(), "nochan", "x-1", 1, http.StatusBadRequest)
	expect("after refused reservations", 10, 10, 50)

	// Wildberries orders take its 50: they hold stock as reservations.
	storeUpdates := len(store.StockHistory("kettle"))
	for i := 0; i < 5; i++ {
		reserve(t, a.Addr(), "wildberries", fmt.Sprintf("wb-%d", i), 10, http.StatusCreated)
	}
	expect("Wildberries' 50 reserved", 10, 10, 0)
	time.Sleep(100 * time.Millisecond)
	if n := len(store.StockHistory("kettle")); n != storeUpdates {
		t.Errorf("web store got %d more updates while Wildberries' carve-out ran out, want none", n-storeUpdates)
	}
	// With 50 of 60 units held, the reservations API lets no channel take
	// 11 more.
	reserve(t, a.Addr(), "store", "web-1", 11, http.StatusConflict)

	// 1C's next package shows the sold units gone and 2 left; the orders
	// are reflected, so their reservations end.
	for i := 0; i < 5; i++ {
		closeReservation(t, a.Addr(), "wildberries", fmt.Sprintf("wb-%d", i), "commit")
	}
	post(1, 2)
	expect("2 units left", 2, 0, 0)
}

func reserve(t *testing.T, addr, channel, order string, qty int, want int) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"channel": channel, "order_id": order, "lines": []map[string]any{{"sku": "kettle", "qty": qty}}})
	resp, err := http.Post("http://"+addr+"/api/v1/reservations", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("reserve %d for %s order %s: HTTP %d, want %d", qty, channel, order, resp.StatusCode, want)
	}
}

func closeReservation(t *testing.T, addr, channel, order, how string) {
	t.Helper()
	resp, err := http.Post(fmt.Sprintf("http://%s/api/v1/reservations/%s/%s/%s", addr, channel, order, how), "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s reservation %s/%s: HTTP %d", how, channel, order, resp.StatusCode)
	}
}
