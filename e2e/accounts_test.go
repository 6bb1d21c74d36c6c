package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"obmenhub/e2e/ozonsim"
	"obmenhub/e2e/testdata"
	"obmenhub/retry"
)

// TestTwoAccountsOfOneMarketplace runs two Ozon accounts as two channels,
// each with its own key, warehouse and 1C warehouses: each account gets its
// own numbers and is authenticated with its own key.
func TestTwoAccountsOfOneMarketplace(t *testing.T) {
	path := testdata.Path(t, "commerceml", "dobromyslov__offers0_1.xml")
	const (
		whA = "6abdb0b5-18fd-11e7-80c2-0cc47ab29cd1"
		whB = "dd306af1-19c9-11e7-80c2-0cc47ab29cd1"
	)
	wantA := expectedStock(t, []string{whA}, path)
	wantB := expectedStock(t, []string{whB}, path)

	clock := retry.NewScaledClock(timeScale)
	simA := ozonsim.NewTest(t, ozonsim.Config{ClientID: "client-a", APIKey: "key-a", Clock: clock, Logger: testLog()})
	simB := ozonsim.NewTest(t, ozonsim.Config{ClientID: "client-b", APIKey: "key-b", Clock: clock, Logger: testLog()})
	t.Setenv("E2E_EXCHANGE_PASSWORD", "e2e-pass")
	t.Setenv("E2E_OZON_KEY_A", "key-a")
	t.Setenv("E2E_OZON_KEY_B", "key-b")
	dir := t.TempDir()
	a := runHub(t, fmt.Sprintf(`
listen: 127.0.0.1:0
store: {path: %q}
exchange: {username: 1c, password_env: E2E_EXCHANGE_PASSWORD, dir: %q}
channels:
  - {name: ozon-a, kind: ozon, base_url: %q, client_id: client-a, api_key_env: E2E_OZON_KEY_A, warehouse_id: 11, warehouses: [%s]}
  - {name: ozon-b, kind: ozon, base_url: %q, client_id: client-b, api_key_env: E2E_OZON_KEY_B, warehouse_id: 22, warehouses: [%s]}
`, filepath.Join(dir, "hub.db"), filepath.Join(dir, "x"), simA.URL, whA, simB.URL, whB), clock, nil)
	h := &harness{t: t, app: a, url: "http://" + a.Addr() + "/1c/exchange"}
	if err := h.client().PostFiles(context.Background(), false, path); err != nil {
		t.Fatal(err)
	}
	h.waitFor("Ozon account A", wantA, func(sku string) (int64, bool) { return simA.Stock(sku, 11) })
	h.waitFor("Ozon account B", wantB, func(sku string) (int64, bool) { return simB.Stock(sku, 22) })
	for name, s := range map[string]*ozonsim.Server{"A": simA, "B": simB} {
		if st := s.Stats(); st.AuthFailures != 0 || st.ValidationFailures != 0 {
			t.Errorf("account %s: %d auth failures, %d invalid requests, want none", name, st.AuthFailures, st.ValidationFailures)
		}
	}
}
