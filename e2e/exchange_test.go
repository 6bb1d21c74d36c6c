// Package e2e holds end-to-end tests: the whole hub, driven over HTTP as
// 1C drives it, pushing to marketplace simulators that check every
// request against the vendor's published API spec.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"obmenhub/e2e/ozonsim"
	"obmenhub/e2e/testdata"
	"obmenhub/e2e/wbsim"
	"obmenhub/hub/app"
	"obmenhub/hub/config"
	"obmenhub/hub/exchange/client"
	"obmenhub/retry"
)

// timeScale speeds up the vendors' clocks: Ozon's 80 requests a minute
// and its 30 s rule per product-warehouse pair, and Wildberries' 300
// requests a minute, hold on a clock that runs this many times faster.
const timeScale = 200

type harness struct {
	t     testing.TB
	app   *app.App
	ozon  *ozonsim.Server
	wb    *wbsim.Server
	url   string
	clock retry.Clock
}

const (
	ozonWarehouse = 22000000001
	wbWarehouse   = 507
)

// startHub starts both simulators and a hub whose Ozon channel shows the
// sum of ozonWarehouses (all when empty) and whose Wildberries channel
// shows all warehouses, bound through a map of every SKU in skus.
func startHub(t *testing.T, ozonWarehouses []string, skus []string) *harness {
	t.Helper()
	h := &harness{t: t, clock: retry.NewScaledClock(timeScale)}
	h.ozon = ozonsim.NewTest(t, ozonsim.Config{ClientID: "e2e-client", APIKey: "e2e-ozon-key", Clock: h.clock, Logger: testLog()})
	h.wb = wbsim.NewTest(t, wbsim.Config{Token: "e2e-wb-token", Clock: h.clock, Logger: testLog()})
	h.app = startApp(t, t.TempDir(), h.ozon.URL, h.wb.URL, h.clock, ozonWarehouses, skus)
	h.url = "http://" + h.app.Addr() + "/1c/exchange"
	return h
}

func testLog() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// startApp starts a hub whose ledger and uploads live in dir. The caller
// may shut it down early; cleanup shuts it down otherwise.
func startApp(t *testing.T, dir, ozonURL, wbURL string, clock retry.Clock, ozonWarehouses []string, skus []string) *app.App {
	t.Helper()
	log := testLog()
	mapFile := filepath.Join(dir, "wb.csv")
	var b strings.Builder
	b.WriteString("sku,external_id\n")
	for i, sku := range skus {
		fmt.Fprintf(&b, "%s,%d\n", sku, 100000+i)
	}
	if err := os.WriteFile(mapFile, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("E2E_EXCHANGE_PASSWORD", "e2e-pass")
	t.Setenv("E2E_OZON_KEY", "e2e-ozon-key")
	t.Setenv("E2E_WB_TOKEN", "e2e-wb-token")

	yaml := fmt.Sprintf(`
listen: 127.0.0.1:0
store: {path: %q}
exchange:
  username: 1c
  password_env: E2E_EXCHANGE_PASSWORD
  dir: %q
  zip: true
  file_limit: 65536
  max_upload: 4194304
  progress_after: 1ms
channels:
  - name: ozon
    kind: ozon
    base_url: %s
    client_id: e2e-client
    api_key_env: E2E_OZON_KEY
    warehouse_id: %d
    warehouses: [%s]
  - name: wildberries
    kind: wildberries
    base_url: %s
    token_env: E2E_WB_TOKEN
    warehouse_id: %d
    binding: {by: map, file: %q}
`, filepath.Join(dir, "hub.db"), filepath.Join(dir, "exchange"), ozonURL, ozonWarehouse,
		strings.Join(ozonWarehouses, ", "), wbURL, wbWarehouse, mapFile)
	return runHub(t, yaml, clock, log)
}

// runHub parses the config text, starts a hub in the test process with
// clock (nil: the wall clock) and shuts it down at cleanup.
func runHub(t testing.TB, yaml string, clock retry.Clock, log *slog.Logger) *app.App {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), t.Name()+".yaml")
	if err != nil {
		t.Fatal(err)
	}
	if log == nil {
		log = testLog()
	}
	a, err := app.New(context.Background(), cfg, log, app.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a.Shutdown(ctx)
	})
	return a
}

func (h *harness) client() *client.Client {
	return &client.Client{URL: h.url, User: "1c", Password: "e2e-pass", ProgressPause: 5 * time.Millisecond, MaxChunk: 50000}
}

// waitFor polls until every expected value is on the simulator or the
// deadline passes, then reports each difference.
func (h *harness) waitFor(channelName string, want map[string]int64, got func(sku string) (int64, bool)) {
	h.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var diff []string
	for {
		diff = diff[:0]
		for sku, q := range want {
			g, ok := got(sku)
			if !ok || g != q {
				diff = append(diff, fmt.Sprintf("%s: got %d (present %v), want %d", sku, g, ok, q))
			}
		}
		if len(diff) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(diff) > 0 {
		sort.Strings(diff)
		if len(diff) > 10 {
			diff = append(diff[:10], fmt.Sprintf("… and %d more", len(diff)-10))
		}
		h.t.Errorf("%s does not hold the expected stock:\n%s", channelName, strings.Join(diff, "\n"))
	}
}

func (h *harness) ozonStock(sku string) (int64, bool) { return h.ozon.Stock(sku, ozonWarehouse) }

func (h *harness) wbStock(index map[string]string) func(string) (int64, bool) {
	return func(sku string) (int64, bool) { return h.wb.Stock(index[sku], wbWarehouse) }
}

func (h *harness) checkClean() {
	h.t.Helper()
	if s := h.ozon.Stats(); s.ValidationFailures != 0 || s.RateViolations != 0 {
		h.t.Errorf("Ozon simulator saw %d invalid requests and %d over the rate limit", s.ValidationFailures, s.RateViolations)
	}
	if s := h.wb.Stats(); s.ValidationFailures != 0 || s.RateViolations != 0 {
		h.t.Errorf("Wildberries simulator saw %d invalid requests and %d over the rate limit", s.ValidationFailures, s.RateViolations)
	}
}

func skusOf(m map[string]int64) []string {
	out := make([]string, 0, len(m))
	for sku := range m {
		out = append(out, sku)
	}
	sort.Strings(out)
	return out
}

func chrtIndex(skus []string) map[string]string {
	m := make(map[string]string, len(skus))
	for i, sku := range skus {
		m[sku] = fmt.Sprint(100000 + i)
	}
	return m
}

func TestExchangeToMarketplaces(t *testing.T) {
	cml := func(name string) string { return testdata.Path(t, "commerceml", name) }
	tests := []struct {
		name  string
		zip   bool
		files []string
		// ozonWarehouses are the 1C warehouses the Ozon channel sums.
		ozonWarehouses []string
		// spot holds values checked by hand against the XML.
		spot map[string]int64
	}{
		{
			name:  "UT 11 import and offers, chunked",
			files: []string{cml("dobromyslov__import0_1.xml"), cml("dobromyslov__offers0_1.xml")},
			// Two of the package's three warehouses.
			ozonWarehouses: []string{"6abdb0b5-18fd-11e7-80c2-0cc47ab29cd1", "dd306af1-19c9-11e7-80c2-0cc47ab29cd1"},
		},
		{
			name: "separate offers, prices and rests, zipped",
			zip:  true,
			files: []string{
				cml("gillbeits__import___b815e2db-7a65-4265-9241-5f0c4f0565a7.xml"),
				cml("gillbeits__offers___7f304edc-2527-4d3d-b058-6e4ee53de2e0.xml"),
				cml("gillbeits__prices___d66a6b51-ce9c-4e7a-8c7c-25079721107f.xml"),
				cml("gillbeits__rests___1af6e7b8-a026-4690-9752-1c9d64cb914d.xml"),
			},
		},
		{
			name:  "CML 3.1 goods, offers and rests",
			files: []string{cml("irpsv-bxm6goods__import.xml"), cml("irpsv-bxm6goods__offers.xml"), cml("irpsv-bxm6goods__rests.xml")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantOzon := expectedStock(t, tt.ozonWarehouses, tt.files...)
			wantWB := expectedStock(t, nil, tt.files...)
			if len(wantOzon) == 0 {
				t.Fatal("oracle found no offers in the package")
			}
			skus := skusOf(wantWB)
			h := startHub(t, tt.ozonWarehouses, skus)

			c := h.client()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := c.PostFiles(ctx, tt.zip, tt.files...); err != nil {
				t.Fatalf("exchange: %v", err)
			}
			if c.Progress == 0 {
				t.Errorf("import never answered progress; the test meant to exercise it")
			}
			h.waitFor("Ozon", wantOzon, h.ozonStock)
			h.waitFor("Wildberries", wantWB, h.wbStock(chrtIndex(skus)))
			h.checkClean()
		})
	}
}

// TestRepeatedPackageSendsNothing checks that a package the channels
// already hold causes no second push.
func TestRepeatedPackageSendsNothing(t *testing.T) {
	files := []string{testdata.Path(t, "commerceml", "dobromyslov__offers0_1.xml")}
	want := expectedStock(t, nil, files...)
	h := startHub(t, nil, skusOf(want))
	if err := h.client().PostFiles(context.Background(), false, files...); err != nil {
		t.Fatal(err)
	}
	h.waitFor("Ozon", want, h.ozonStock)
	before := h.ozon.Stats().Updated

	if err := h.client().PostFiles(context.Background(), false, files...); err != nil {
		t.Fatal(err)
	}
	// The second import's notices reach the worker, which finds nothing to
	// send; wait until it has looked.
	waitIdle(t, h.app)
	if after := h.ozon.Stats().Updated; after != before {
		t.Errorf("Ozon got %d more item updates for an unchanged package, want 0", after-before)
	}
}

func waitIdle(t testing.TB, a *app.App) {
	t.Helper()
	time.Sleep(50 * time.Millisecond) // let the bus deliver the notices
	for _, w := range a.Workers {
		select {
		case <-w.Idle():
		case <-time.After(30 * time.Second):
			t.Fatalf("channel %s still busy", w.Channel())
		}
	}
}

// TestSKUAPI checks the ledger view of one SKU after an exchange.
func TestSKUAPI(t *testing.T) {
	files := []string{testdata.Path(t, "commerceml", "dobromyslov__offers0_1.xml")}
	want := expectedStock(t, nil, files...)
	h := startHub(t, nil, skusOf(want))
	if err := h.client().PostFiles(context.Background(), false, files...); err != nil {
		t.Fatal(err)
	}
	h.waitFor("Ozon", want, h.ozonStock)
	waitIdle(t, h.app)

	sku := skusOf(want)[0]
	resp, err := http.Get("http://" + h.app.Addr() + "/api/v1/skus/" + url.PathEscape(sku))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET sku: HTTP %d: %s", resp.StatusCode, body)
	}
	for _, s := range []string{`"channel":"ozon"`, `"channel":"wildberries"`, fmt.Sprintf(`"desired":%d`, want[sku]), fmt.Sprintf(`"confirmed":%d`, want[sku]), `"version":{"generated":`} {
		if !strings.Contains(string(body), s) {
			t.Errorf("SKU view lacks %s:\n%s", s, body)
		}
	}
}

// TestRestartSendsWhatChannelsLack imports a package while both
// marketplaces are unreachable, stops the hub with the pushes still
// pending, and starts a new hub on the same ledger: the new hub must send
// everything, although the in-process bus lost every notice.
func TestRestartSendsWhatChannelsLack(t *testing.T) {
	files := []string{testdata.Path(t, "commerceml", "dobromyslov__offers0_1.xml")}
	want := expectedStock(t, nil, files...)
	skus := skusOf(want)
	dir := t.TempDir()
	clock := retry.NewScaledClock(timeScale)

	// Nothing listens on these: every push fails and is retried later.
	down := "http://127.0.0.1:1"
	first := startApp(t, dir, down, down, clock, nil, skus)
	c := &client.Client{URL: "http://" + first.Addr() + "/1c/exchange", User: "1c", Password: "e2e-pass", ProgressPause: 5 * time.Millisecond}
	if err := c.PostFiles(context.Background(), false, files...); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := first.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}

	ozon := ozonsim.NewTest(t, ozonsim.Config{ClientID: "e2e-client", APIKey: "e2e-ozon-key", Clock: clock, Logger: testLog()})
	wb := wbsim.NewTest(t, wbsim.Config{Token: "e2e-wb-token", Clock: clock, Logger: testLog()})
	h := &harness{t: t, ozon: ozon, wb: wb, clock: clock}
	h.app = startApp(t, dir, ozon.URL, wb.URL, clock, nil, skus)
	h.waitFor("Ozon", want, h.ozonStock)
	h.waitFor("Wildberries", want, h.wbStock(chrtIndex(skus)))
	h.checkClean()
}

// TestChannelBindingsAPI checks that SKUs missing from a channel's binding
// are listed as unbound, are never pushed and do not become dead letters.
func TestChannelBindingsAPI(t *testing.T) {
	files := []string{testdata.Path(t, "commerceml", "dobromyslov__offers0_1.xml")}
	want := expectedStock(t, nil, files...)
	all := skusOf(want)
	bound := all[:len(all)-3]
	h := startHub(t, nil, bound)
	if err := h.client().PostFiles(context.Background(), false, files...); err != nil {
		t.Fatal(err)
	}
	h.waitFor("Wildberries", pick(want, bound), h.wbStock(chrtIndex(bound)))
	waitIdle(t, h.app)

	resp, err := http.Get("http://" + h.app.Addr() + "/api/v1/channels/wildberries/skus?bound=false")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Bound, Unbound int
		SKUs           []struct{ SKU string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if body.Bound != len(bound) || body.Unbound != 3 || len(body.SKUs) != 3 {
		t.Errorf("bindings = %+v, want %d bound and the 3 unmapped SKUs listed", body, len(bound))
	}
	for i, s := range body.SKUs {
		if s.SKU != all[len(all)-3+i] {
			t.Errorf("unbound SKU %d = %s, want %s", i, s.SKU, all[len(all)-3+i])
		}
	}
	if got := len(h.wb.Snapshot()); got != len(bound) {
		t.Errorf("Wildberries holds %d items, want %d: unbound SKUs must not be pushed", got, len(bound))
	}
	letters, err := h.app.Store.DeadLetters(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(letters) != 0 {
		t.Errorf("dead letters = %d, want 0: unbound SKUs must not flood the queue", len(letters))
	}
}

func pick(m map[string]int64, keys []string) map[string]int64 {
	out := make(map[string]int64, len(keys))
	for _, k := range keys {
		out[k] = m[k]
	}
	return out
}
