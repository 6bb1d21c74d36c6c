package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"obmenhub/e2e/insalessim"
	"obmenhub/e2e/wbsim"
	"obmenhub/retry"
)

// TestInSalesOrderWebhook pushes an InSales order to the hub's webhook:
// it reserves stock at once and lowers Wildberries; a wrong token and a
// repeated delivery change nothing.
func TestInSalesOrderWebhook(t *testing.T) {
	clock := retry.NewScaledClock(timeScale)
	ins := insalessim.NewTest(t, insalessim.Config{Login: "app", Password: "e2e-insales", Clock: clock, Logger: testLog()})
	wb := wbsim.NewTest(t, wbsim.Config{Token: "e2e-wb-token", Clock: clock, Logger: testLog()})
	dir := t.TempDir()
	mapFile := filepath.Join(dir, "ids.csv")
	os.WriteFile(mapFile, []byte("sku,external_id\nkettle,5001\n"), 0o600)
	for k, v := range map[string]string{"E2E_EXCHANGE_PASSWORD": "e2e-pass", "E2E_INSALES_PASSWORD": "e2e-insales",
		"E2E_WB_TOKEN": "e2e-wb-token", "E2E_HOOK_TOKEN": "hook-secret"} {
		t.Setenv(k, v)
	}
	a := runHub(t, fmt.Sprintf(`
listen: 127.0.0.1:0
store: {path: %q}
exchange: {username: 1c, password_env: E2E_EXCHANGE_PASSWORD, dir: %q}
channels:
  - {name: insales, kind: insales, base_url: %q, login: app, password_env: E2E_INSALES_PASSWORD, binding: {by: map, file: %q}, orders: {poll: 1h, webhook_token_env: E2E_HOOK_TOKEN}}
  - {name: wildberries, kind: wildberries, base_url: %q, token_env: E2E_WB_TOKEN, warehouse_id: 1, binding: {by: map, file: %q}}
`, filepath.Join(dir, "hub.db"), filepath.Join(dir, "x"), ins.URL, mapFile, wb.URL, mapFile), clock, nil)
	h := &harness{t: t, app: a, url: "http://" + a.Addr() + "/1c/exchange", wb: wb}
	if err := h.client().PostFiles(t.Context(), false, scenarioPackage(t, dir, 0, 10)); err != nil {
		t.Fatal(err)
	}
	wbKettle := func(string) (int64, bool) { return wb.Stock("5001", 1) }
	h.waitFor("Wildberries before the order", map[string]int64{"kettle": 10}, wbKettle)

	order := fmt.Sprintf(`{"id": 77, "created_at": %q, "updated_at": %q, "fulfillment_status": "new",
		"order_lines": [{"variant_id": 5001, "quantity": 3, "sale_price": "2490.0"}]}`,
		time.Now().UTC().Format(time.RFC3339), time.Now().UTC().Format(time.RFC3339))
	hook := "http://" + a.Addr() + "/api/v1/channels/insales/orders/webhook?token="
	send := func(token string, want int) {
		t.Helper()
		resp, err := http.Post(hook+token, "application/json", strings.NewReader(order))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("webhook with token %q: HTTP %d, want %d", token, resp.StatusCode, want)
		}
	}
	send("wrong", http.StatusUnauthorized)
	send("hook-secret", http.StatusOK)
	send("hook-secret", http.StatusOK)
	h.waitFor("Wildberries after the InSales order", map[string]int64{"kettle": 7}, wbKettle)
	reserved, err := a.Store.Reserved(t.Context(), []string{"kettle"})
	if err != nil {
		t.Fatal(err)
	}
	if reserved["kettle"] != 3 {
		t.Errorf("reserved = %d, want 3 once although the webhook came twice", reserved["kettle"])
	}
}
