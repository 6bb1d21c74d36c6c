package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"obmenhub/e2e/ozonsim"
	"obmenhub/e2e/wbsim"
	"obmenhub/e2e/webstoresim"
	"obmenhub/retry"
)

// orderLatencySKUs is how many SKUs the order latency run uses; each gets
// one order.
const orderLatencySKUs = 60

// runOrderLatency starts Ozon (whose orders are read every 100 ms),
// Wildberries and a web store, imports 10 units of each SKU, then places
// one Ozon order per SKU and measures how long each takes to lower that
// SKU on Wildberries and the web store. It returns the latencies, sorted.
func runOrderLatency(t testing.TB) []time.Duration {
	clock := retry.NewScaledClock(timeScale)
	ozon := ozonsim.NewTest(t, ozonsim.Config{ClientID: "e2e-client", APIKey: "e2e-ozon-key", Clock: clock, Logger: testLog()})
	wb := wbsim.NewTest(t, wbsim.Config{Token: "e2e-wb-token", Clock: clock, Logger: testLog()})
	store := webstoresim.NewTest(t, webstoresim.Config{Secret: "e2e-store-secret-0001", Clock: clock, Logger: testLog()})
	dir := t.TempDir()

	skus := make([]string, orderLatencySKUs)
	var pkg, ids strings.Builder
	ids.WriteString("sku,external_id\n")
	for i := range skus {
		skus[i] = fmt.Sprintf("sku-%03d", i)
		fmt.Fprintf(&pkg, `<Предложение><Ид>%s</Ид><Наименование>Товар</Наименование><Склад ИдСклада="wh-1" КоличествоНаСкладе="10"/></Предложение>`, skus[i])
		fmt.Fprintf(&ids, "%s,%d\n", skus[i], 100000+i)
	}
	offers := filepath.Join(dir, "offers.xml")
	os.WriteFile(offers, []byte(`<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация ВерсияСхемы="2.08" ДатаФормирования="2026-12-01T10:00:00"><ПакетПредложений СодержитТолькоИзменения="true">
<Ид>p</Ид><ИдКаталога>c</ИдКаталога><Наименование>p</Наименование><Предложения>`+pkg.String()+`</Предложения></ПакетПредложений></КоммерческаяИнформация>`), 0o600)
	mapFile := filepath.Join(dir, "wb.csv")
	os.WriteFile(mapFile, []byte(ids.String()), 0o600)
	for k, v := range map[string]string{"E2E_EXCHANGE_PASSWORD": "e2e-pass", "E2E_OZON_KEY": "e2e-ozon-key",
		"E2E_WB_TOKEN": "e2e-wb-token", "E2E_STORE_SECRET": "e2e-store-secret-0001"} {
		os.Setenv(k, v)
	}
	a := runHub(t, fmt.Sprintf(`
listen: 127.0.0.1:0
log_level: error
store: {path: %q}
exchange: {username: 1c, password_env: E2E_EXCHANGE_PASSWORD, dir: %q}
channels:
  - {name: ozon, kind: ozon, base_url: %q, client_id: e2e-client, api_key_env: E2E_OZON_KEY, warehouse_id: %d, orders: {poll: 100ms}}
  - {name: wildberries, kind: wildberries, base_url: %q, token_env: E2E_WB_TOKEN, warehouse_id: %d, binding: {by: map, file: %q}}
  - {name: store, kind: webstore, webstore: {webhook_url: %q, secret_env: E2E_STORE_SECRET}, requests_per_minute: 100000}
`, filepath.Join(dir, "hub.db"), filepath.Join(dir, "x"), ozon.URL, ozonWarehouse, wb.URL, wbWarehouse, mapFile, store.WebhookURL), clock, nil)
	h := &harness{t: t, app: a, url: "http://" + a.Addr() + "/1c/exchange", ozon: ozon, wb: wb}
	if err := h.client().PostFiles(t.Context(), false, offers); err != nil {
		t.Fatal(err)
	}
	all := map[string]int64{}
	for _, sku := range skus {
		all[sku] = 10
	}
	index := chrtIndex(skus)
	h.waitFor("Wildberries", all, h.wbStock(index))
	h.waitFor("web store", all, store.Stock)

	var lat []time.Duration
	for i, sku := range skus {
		start := time.Now()
		err := ozon.AddOrder(ozonsim.Posting{
			PostingNumber: fmt.Sprintf("0001-%04d-1", i), OrderID: int64(i + 1), OrderNumber: fmt.Sprintf("0001-%04d", i),
			Status: "awaiting_packaging", InProcessAt: clock.Now(), WarehouseID: ozonWarehouse,
			Products: []ozonsim.PostingProduct{{OfferID: sku, SKU: int64(900000 + i), Name: "Товар", Quantity: 1, Price: "100.000000", CurrencyCode: "RUB"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		for {
			w, _ := wb.Stock(index[sku], wbWarehouse)
			s, _ := store.Stock(sku)
			if w == 9 && s == 9 {
				break
			}
			if time.Since(start) > 10*time.Second {
				t.Fatalf("order for %s not seen on the other channels after 10 s (Wildberries %d, web store %d)", sku, w, s)
			}
			time.Sleep(time.Millisecond)
		}
		lat = append(lat, time.Since(start))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	return sorted[int(float64(len(sorted)-1)*p)]
}

// BenchmarkOrderToChannels measures the time from an order appearing on
// the Ozon simulator to the lower stock on Wildberries and the web store,
// with Ozon's orders read every 100 ms. It reports p50 and p99 in ms.
func BenchmarkOrderToChannels(b *testing.B) {
	var lat []time.Duration
	for i := 0; i < b.N; i++ {
		lat = append(lat, runOrderLatency(b)...)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(percentile(lat, 0.50).Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(percentile(lat, 0.99).Microseconds())/1000, "p99_ms")
}

// TestOrderReachesOtherChannels checks that every Ozon order lowers the
// SKU on the other channels; the time it takes is what
// BenchmarkOrderToChannels measures.
func TestOrderReachesOtherChannels(t *testing.T) {
	lat := runOrderLatency(t)
	t.Logf("order to other channels: p50 %v, p99 %v over %d orders", percentile(lat, 0.5), percentile(lat, 0.99), len(lat))
}
