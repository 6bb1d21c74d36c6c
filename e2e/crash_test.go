package e2e

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"obmenhub/e2e/ozonsim"
	"obmenhub/e2e/wbsim"
	"obmenhub/hub/exchange/client"
	"obmenhub/retry"
)

// roundPackage writes an offers package in which every SKU's quantity is
// roundQty(round, i), so that quantities only grow from round to round and
// a channel that ever sees a quantity fall got an older value after a
// newer one.
func roundPackage(t *testing.T, dir string, round int, skus []string) string {
	t.Helper()
	var b strings.Builder
	generated := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC).Add(time.Duration(round) * time.Minute)
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_2" ВерсияСхемы="2.08" ДатаФормирования="%s">
<ПакетПредложений СодержитТолькоИзменения="true">
<Ид>crash-catalog#</Ид><ИдКаталога>crash-catalog</ИдКаталога><Наименование>Раунд %d</Наименование>
<Склады><Склад><Ид>wh-1</Ид><Наименование>Склад</Наименование></Склад></Склады>
<Предложения>
`, generated.Format("2006-01-02T15:04:05"), round)
	for i, sku := range skus {
		fmt.Fprintf(&b, "<Предложение><Ид>%s</Ид><Наименование>Товар %d</Наименование><Склад ИдСклада=\"wh-1\" КоличествоНаСкладе=\"%d\"/></Предложение>\n",
			sku, i, roundQty(round, i))
	}
	b.WriteString("</Предложения>\n</ПакетПредложений>\n</КоммерческаяИнформация>\n")
	path := filepath.Join(dir, fmt.Sprintf("offers-%03d.xml", round))
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func roundQty(round, i int) int64 { return int64(round*100 + i%50) }

func crashSKUs(n int) []string {
	skus := make([]string, n)
	for i := range skus {
		skus[i] = fmt.Sprintf("crash-%05d", i)
	}
	return skus
}

// processConfig returns the config of a hub process that pushes to the
// simulators at ozonURL and wbURL, with the store and bus of be.
func processConfig(t *testing.T, be backend, dir, instance, ozonURL, wbURL string, skus []string) string {
	t.Helper()
	mapFile := filepath.Join(dir, "wb.csv")
	var b strings.Builder
	b.WriteString("sku,external_id\n")
	for i, sku := range skus {
		fmt.Fprintf(&b, "%s,%d\n", sku, 100000+i)
	}
	if err := os.WriteFile(mapFile, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf(`
listen: "{{ADDR}}"
instance: %s
%s
exchange:
  username: 1c
  password_env: E2E_EXCHANGE_PASSWORD
  dir: %q
  progress_after: 50ms
demo:
  time_scale: %d
channels:
  - name: ozon
    kind: ozon
    base_url: %s
    client_id: e2e-client
    api_key_env: E2E_OZON_KEY
    warehouse_id: %d
  - name: wildberries
    kind: wildberries
    base_url: %s
    token_env: E2E_WB_TOKEN
    warehouse_id: %d
    binding: {by: map, file: %q}
`, instance, be.yaml, filepath.Join(dir, "exchange-"+instance), timeScale, ozonURL, ozonWarehouse, wbURL, wbWarehouse, mapFile)
}

var processEnv = []string{"E2E_EXCHANGE_PASSWORD=e2e-pass", "E2E_OZON_KEY=e2e-ozon-key", "E2E_WB_TOKEN=e2e-wb-token"}

// postUntilAccepted posts one file until the hub at url() answers success:
// 1C repeats an exchange that failed, and so does this.
func postUntilAccepted(t *testing.T, url func() string, path string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		c := &client.Client{URL: url(), User: "1c", Password: "e2e-pass", ProgressPause: 10 * time.Millisecond}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := c.PostFiles(ctx, false, path)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("post %s: %v", filepath.Base(path), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkMonotonic fails the test for every key whose accepted values ever
// fell: in these tests quantities only grow, so a fall means an older
// value reached the channel after a newer one.
func checkMonotonic[K comparable](t *testing.T, channel string, histories map[K][]updateView) {
	t.Helper()
	bad := 0
	for key, h := range histories {
		for i := 1; i < len(h); i++ {
			if h[i].value < h[i-1].value {
				if bad < 5 {
					t.Errorf("%s %v: value %d after %d (agents %s, %s)", channel, key, h[i].value, h[i-1].value, h[i-1].agent, h[i].agent)
				}
				bad++
				break
			}
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d keys received an older value after a newer one", channel, bad)
	}
}

type updateView struct {
	value int64
	agent string
}

func ozonHistories(s *ozonsim.Server) map[ozonsim.Key][]updateView {
	out := map[ozonsim.Key][]updateView{}
	for k, h := range s.Histories() {
		for _, u := range h {
			out[k] = append(out[k], updateView{u.Value, u.Agent})
		}
	}
	return out
}

func wbHistories(s *wbsim.Server) map[wbsim.Key][]updateView {
	out := map[wbsim.Key][]updateView{}
	for k, h := range s.Histories() {
		for _, u := range h {
			out[k] = append(out[k], updateView{u.Value, u.Agent})
		}
	}
	return out
}

// finalWant is the stock every SKU must end with after the last round.
func finalWant(skus []string, lastRound int) map[string]int64 {
	want := make(map[string]int64, len(skus))
	for i, sku := range skus {
		want[sku] = roundQty(lastRound, i)
	}
	return want
}

// TestKilledHubConverges kills the hub process with SIGKILL at random
// points of ingest and push, restarts it, and checks that both
// marketplaces end with the last package's numbers and never received an
// older value after a newer one.
func TestKilledHubConverges(t *testing.T) {
	dir := t.TempDir()
	for _, be := range backends(t, dir) {
		t.Run(be.name, func(t *testing.T) {
			seed := time.Now().UnixNano()
			t.Logf("seed %d", seed)
			rng := rand.New(rand.NewSource(seed))

			clock := retry.NewScaledClock(timeScale)
			ozon := ozonsim.NewTest(t, ozonsim.Config{ClientID: "e2e-client", APIKey: "e2e-ozon-key", Clock: clock, Logger: testLog()})
			wb := wbsim.NewTest(t, wbsim.Config{Token: "e2e-wb-token", Clock: clock, Logger: testLog()})
			skus := crashSKUs(2000)
			hubDir := t.TempDir()
			p := startProcess(t, "hub", processConfig(t, be, hubDir, "crash", ozon.URL, wb.URL, skus),
				append(processEnv, be.env...)...)

			const rounds = 6
			for round := 1; round <= rounds; round++ {
				path := roundPackage(t, hubDir, round, skus)
				done := make(chan struct{})
				go func() {
					defer close(done)
					postUntilAccepted(t, p.exchangeURL, path)
				}()
				// Kill while the file is uploaded or imported, or while its
				// stock is pushed.
				time.Sleep(time.Duration(rng.Intn(120)) * time.Millisecond)
				p.restart()
				<-done
				time.Sleep(time.Duration(rng.Intn(80)) * time.Millisecond)
				if rng.Intn(2) == 0 {
					p.restart()
				}
			}

			want := finalWant(skus, rounds)
			h := &harness{t: t, ozon: ozon, wb: wb}
			h.waitFor("Ozon", want, h.ozonStock)
			h.waitFor("Wildberries", want, h.wbStock(chrtIndex(skus)))
			checkMonotonic(t, "Ozon", ozonHistories(ozon))
			checkMonotonic(t, "Wildberries", wbHistories(wb))
			h.checkClean()
		})
	}
}
