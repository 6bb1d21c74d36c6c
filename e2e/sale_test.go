package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"

	"obmenhub/e2e/ozonsim"
	"obmenhub/e2e/wbsim"
	"obmenhub/retry"
)

// saleCall sends one request of 1C's order exchange (type=sale) and
// returns the body as text, decoded from windows-1251 when the answer
// says so.
func saleCall(t *testing.T, base, cookie, mode string) (string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"?type=sale&mode="+mode, nil)
	if cookie == "" {
		req.SetBasicAuth("1c", "e2e-pass")
	} else {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if strings.Contains(strings.ToLower(resp.Header.Get("Content-Type")), "windows-1251") {
		raw, _ = charmap.Windows1251.NewDecoder().Bytes(raw)
	}
	return string(raw), resp.Header.Get("Content-Type")
}

// TestOrderReachesOneCOnce plays the whole order loop: an order appears on
// Ozon and lowers Wildberries' stock; 1C fetches it through the order
// exchange and confirms; a package 1C generated before confirming leaves
// the reservation in place, and one generated after, which already counts
// the order, does not subtract it a second time.
func TestOrderReachesOneCOnce(t *testing.T) {
	clock := retry.NewScaledClock(timeScale)
	ozon := ozonsim.NewTest(t, ozonsim.Config{ClientID: "e2e-client", APIKey: "e2e-ozon-key", Clock: clock, Logger: testLog()})
	wb := wbsim.NewTest(t, wbsim.Config{Token: "e2e-wb-token", Clock: clock, Logger: testLog()})
	dir := t.TempDir()
	mapFile := filepath.Join(dir, "wb.csv")
	os.WriteFile(mapFile, []byte("sku,external_id\nkettle,100001\n"), 0o600)
	for k, v := range map[string]string{"E2E_EXCHANGE_PASSWORD": "e2e-pass", "E2E_OZON_KEY": "e2e-ozon-key", "E2E_WB_TOKEN": "e2e-wb-token"} {
		t.Setenv(k, v)
	}
	a := runHub(t, fmt.Sprintf(`
listen: 127.0.0.1:0
store: {path: %q}
exchange: {username: 1c, password_env: E2E_EXCHANGE_PASSWORD, dir: %q}
channels:
  - {name: ozon, kind: ozon, base_url: %q, client_id: e2e-client, api_key_env: E2E_OZON_KEY, warehouse_id: %d, orders: {poll: 100ms}}
  - {name: wildberries, kind: wildberries, base_url: %q, token_env: E2E_WB_TOKEN, warehouse_id: 1, binding: {by: map, file: %q}}
`, filepath.Join(dir, "hub.db"), filepath.Join(dir, "x"), ozon.URL, ozonWarehouse, wb.URL, mapFile), clock, nil)
	h := &harness{t: t, app: a, url: "http://" + a.Addr() + "/1c/exchange", ozon: ozon, wb: wb}
	wbKettle := func(string) (int64, bool) { return wb.Stock("100001", 1) }
	post := func(generated time.Time, qty int) {
		t.Helper()
		path := filepath.Join(dir, fmt.Sprintf("offers-%d.xml", generated.UnixNano()))
		os.WriteFile(path, []byte(fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация ВерсияСхемы="2.08" ДатаФормирования="%s"><ПакетПредложений СодержитТолькоИзменения="true">
<Ид>p</Ид><ИдКаталога>c</ИдКаталога><Наименование>p</Наименование><Предложения>
<Предложение><Ид>kettle</Ид><Наименование>Чайник</Наименование><Склад ИдСклада="wh-main" КоличествоНаСкладе="%d"/></Предложение>
</Предложения></ПакетПредложений></КоммерческаяИнформация>`, generated.In(moscow(t)).Format("2006-01-02T15:04:05"), qty)), 0o600)
		if err := h.client().PostFiles(t.Context(), false, path); err != nil {
			t.Fatal(err)
		}
	}

	post(time.Now().Add(-time.Hour), 10)
	h.waitFor("Wildberries before the order", map[string]int64{"kettle": 10}, wbKettle)

	err := ozon.AddOrder(ozonsim.Posting{PostingNumber: "0500-0001-1", OrderID: 500, OrderNumber: "0500-0001",
		Status: "awaiting_packaging", InProcessAt: clock.Now(), WarehouseID: ozonWarehouse,
		Products: []ozonsim.PostingProduct{{OfferID: "kettle", SKU: 900001, Name: "Чайник", Quantity: 2, Price: "2490.000000", CurrencyCode: "RUB"}}})
	if err != nil {
		t.Fatal(err)
	}
	h.waitFor("Wildberries after the Ozon order", map[string]int64{"kettle": 8}, wbKettle)

	// 1C's package generated before it fetched the order still shows 10:
	// the reservation must go on counting.
	post(time.Now().Add(-time.Minute), 10)
	h.waitFor("Wildberries after a package older than the export", map[string]int64{"kettle": 8}, wbKettle)

	// 1C fetches the order and confirms.
	base := h.url
	auth, _ := saleCall(t, base, "", "checkauth")
	lines := strings.Split(auth, "\n")
	if lines[0] != "success" || len(lines) < 3 {
		t.Fatalf("checkauth answered %q", auth)
	}
	cookie := lines[1] + "=" + lines[2]
	saleCall(t, base, cookie, "init")
	doc, contentType := saleCall(t, base, cookie, "query")
	if !strings.Contains(doc, "0500-0001-1") || !strings.Contains(doc, "kettle") || !strings.Contains(doc, "2490") || !strings.Contains(doc, "Чайник") {
		t.Fatalf("query did not return the Ozon order (content type %s):\n%s", contentType, doc)
	}
	if ok, _ := saleCall(t, base, cookie, "success"); !strings.HasPrefix(ok, "success") {
		t.Fatalf("success answered %q", ok)
	}
	again, _ := saleCall(t, base, cookie, "query")
	if strings.Contains(again, "0500-0001-1") {
		t.Errorf("a query after success returned the confirmed order again")
	}

	// 1C's next package counts the order: 10 − 2 = 8 on hand. The hub must
	// show 8, not subtract the order again.
	// ДатаФормирования has whole seconds, so the package is dated a little
	// after the confirmation, on the hub's clock, which this test runs
	// faster than real time.
	post(clock.Now().Add(2*time.Second), 8)
	time.Sleep(200 * time.Millisecond)
	h.waitFor("Wildberries after 1C counted the order", map[string]int64{"kettle": 8}, wbKettle)
	r, err := a.Store.Reservation(t.Context(), "ozon", "0500-0001-1")
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != "committed" {
		t.Errorf("reservation of the order is %s, want committed once 1C counted the order", r.Status)
	}
}

func moscow(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
