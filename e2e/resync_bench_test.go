package e2e

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"obmenhub/e2e/insalessim"
	"obmenhub/e2e/ozonsim"
	"obmenhub/e2e/wbsim"
	"obmenhub/e2e/webstoresim"
	"obmenhub/hub/app"
	"obmenhub/hub/config"
	"obmenhub/mapping/commerceml/cmlgen"
	"obmenhub/retry"
)

// resyncChannel is one vendor in BenchmarkResync.
type resyncChannel struct {
	name string
	// scale speeds up the vendor's clock. One request interval must last
	// well above the 15-25 ms the simulator takes to validate a request
	// against the vendor spec, so that the ratio measures the hub's pacing
	// and not the simulator's speed. Ozon's 750 ms interval becomes 75 ms
	// at 10, and Wildberries' 200 ms stays 200 ms. At 50, Ozon measured
	// 1.08x because each request outlasted its interval.
	scale float64
	// batch and perMinute are the vendor's documented limits that the
	// theoretical minimum uses.
	batch     int
	perMinute float64
	// start starts the vendor's simulator on clock and returns the channel
	// config and functions to read how many items it holds and how many
	// 429 responses it sent.
	start func(b *testing.B, clock retry.Clock, mapFile string) (yaml string, held func() int, tooMany func() int)
}

// BenchmarkResync measures a full resync of 20,000 SKUs (stock on 2 1C
// warehouses) to each vendor's simulator, with the vendor's real limits on
// a clock scaled per vendor. It reports the ratio of the measured time
// to the theoretical minimum, items ÷ batch size ÷ allowed rate, and the
// rate-limit responses (429, or 503 for InSales), which must be 0.
func BenchmarkResync(b *testing.B) {
	const skus = 20000
	dir := b.TempDir()
	pkg := filepath.Join(dir, "offers.xml")
	f, err := os.Create(pkg)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := cmlgen.GenerateOffers(w, skus, 2); err != nil {
		b.Fatal(err)
	}
	w.Flush()
	f.Close()
	mapFile := filepath.Join(dir, "map.csv")
	var m strings.Builder
	m.WriteString("sku,external_id\n")
	for i := 0; i < skus; i++ {
		fmt.Fprintf(&m, "%s,%d\n", cmlgen.OfferID(i), 100000+i)
	}
	os.WriteFile(mapFile, []byte(m.String()), 0o600)

	channels := []resyncChannel{
		{name: "ozon", scale: 10, batch: 100, perMinute: 80, start: func(b *testing.B, clock retry.Clock, mapFile string) (string, func() int, func() int) {
			s := ozonsim.NewTest(b, ozonsim.Config{ClientID: "c", APIKey: "k", Clock: clock, Logger: testLog()})
			os.Setenv("BENCH_OZON_KEY", "k")
			return fmt.Sprintf(`{name: ozon, kind: ozon, base_url: %q, client_id: c, api_key_env: BENCH_OZON_KEY, warehouse_id: 1, batch_size: 20000}`, s.URL),
				func() int { return len(s.Snapshot()) }, func() int { return s.Stats().TooManyRequests }
		}},
		{name: "wildberries", scale: 1, batch: 1000, perMinute: 300, start: func(b *testing.B, clock retry.Clock, mapFile string) (string, func() int, func() int) {
			s := wbsim.NewTest(b, wbsim.Config{Token: "t", Clock: clock, Logger: testLog()})
			os.Setenv("BENCH_WB_TOKEN", "t")
			return fmt.Sprintf(`{name: wildberries, kind: wildberries, base_url: %q, token_env: BENCH_WB_TOKEN, warehouse_id: 1, batch_size: 20000, binding: {by: map, file: %q}}`, s.URL, mapFile),
				func() int { return len(s.Snapshot()) }, func() int { return s.Stats().TooManyRequests }
		}},
		{name: "insales", scale: 10, batch: 100, perMinute: 100, start: func(b *testing.B, clock retry.Clock, mapFile string) (string, func() int, func() int) {
			s := insalessim.NewTest(b, insalessim.Config{Login: "app", Password: "p", Clock: clock, Logger: testLog()})
			os.Setenv("BENCH_INSALES_PASSWORD", "p")
			held := func() int {
				n := 0
				for range s.Snapshot() {
					n++
				}
				return n
			}
			return fmt.Sprintf(`{name: insales, kind: insales, base_url: %q, login: app, password_env: BENCH_INSALES_PASSWORD, batch_size: 20000, binding: {by: map, file: %q}}`, s.URL, mapFile),
				held, func() int { return s.Stats().ServiceUnavailable }
		}},
		// A web store publishes no limits; the adapter's default is 60
		// requests a minute of 500 items, and the store here enforces it.
		{name: "store", scale: 10, batch: 500, perMinute: 60, start: func(b *testing.B, clock retry.Clock, mapFile string) (string, func() int, func() int) {
			s := webstoresim.NewTest(b, webstoresim.Config{Secret: "bench-store-secret-01", RequestsPerMinute: 60, Burst: 2, Clock: clock, Logger: testLog()})
			os.Setenv("BENCH_STORE_SECRET", "bench-store-secret-01")
			return fmt.Sprintf(`{name: store, kind: webstore, webstore: {webhook_url: %q, secret_env: BENCH_STORE_SECRET}, batch_size: 20000}`, s.WebhookURL),
				func() int { return len(s.Snapshot()) }, func() int { return s.Stats().TooManyRequests }
		}},
	}
	for _, ch := range channels {
		b.Run(ch.name, func(b *testing.B) {
			var ratio float64
			var tooMany int
			for i := 0; i < b.N; i++ {
				r, n := runResync(b, ch, pkg, mapFile, skus)
				ratio += r
				tooMany += n
			}
			b.ReportMetric(ratio/float64(b.N), "x_minimum")
			b.ReportMetric(float64(tooMany), "429s")
		})
	}
}

// runResync imports pkg into a new hub with one channel and returns the
// ratio of the scaled time until the simulator held every SKU to the
// theoretical minimum, and the 429 responses the simulator sent.
func runResync(b *testing.B, ch resyncChannel, pkg, mapFile string, skus int) (float64, int) {
	b.StopTimer()
	clock := retry.NewScaledClock(ch.scale)
	yaml, held, tooMany := ch.start(b, clock, mapFile)
	os.Setenv("BENCH_EXCHANGE_PASSWORD", "x")
	dir := b.TempDir()
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
listen: 127.0.0.1:0
log_level: error
store: {path: %q}
exchange: {username: 1c, password_env: BENCH_EXCHANGE_PASSWORD, dir: %q}
channels:
  - %s
`, filepath.Join(dir, "hub.db"), filepath.Join(dir, "x"), yaml)), "bench.yaml")
	if err != nil {
		b.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, testLog(), app.Options{Clock: clock})
	if err != nil {
		b.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		a.Shutdown(ctx)
	}()
	for !a.Consuming(ch.name) {
		time.Sleep(5 * time.Millisecond)
	}
	// The package is in the ledger before the clock starts, so that only
	// the pushes are timed.
	a.Workers[0].Pause()
	if _, err := a.Ingest.ImportFile(context.Background(), pkg, "offers.xml"); err != nil {
		b.Fatal(err)
	}
	b.StartTimer()
	start := clock.Now()
	a.Workers[0].Resume()
	for held() < skus {
		time.Sleep(time.Millisecond)
	}
	took := clock.Now().Sub(start)
	b.StopTimer()
	requests := math.Ceil(float64(skus) / float64(ch.batch))
	minimum := time.Duration(requests / (ch.perMinute / 60) * float64(time.Second))
	b.Logf("%s: %d items in %v scaled, minimum %v, %d 429s", ch.name, skus, took.Round(time.Millisecond), minimum, tooMany())
	return took.Seconds() / minimum.Seconds(), tooMany()
}
