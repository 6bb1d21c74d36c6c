package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"obmenhub/e2e/wbsim"
	"obmenhub/hub/app"
	"obmenhub/hub/config"
	"obmenhub/mapping/commerceml/cmlgen"
)

// BenchmarkEndToEnd measures stock records per second from a 1C offers
// file to the marketplace: ingest into the ledger, events over the bus,
// the channel worker's diff, and confirmed pushes to a Wildberries
// simulator. The vendor's rate limit is lifted on both sides, so that the
// hub, not the vendor, is what is measured. A stock record is one SKU on one warehouse; the
// package has 5 warehouses per offer. OBMENHUB_BENCH_OFFERS sets its size
// (default 20000).
func BenchmarkEndToEnd(b *testing.B) {
	offers := 20000
	if s := os.Getenv("OBMENHUB_BENCH_OFFERS"); s != "" {
		fmt.Sscan(s, &offers)
	}
	dir := b.TempDir()
	pkg := filepath.Join(dir, "offers.xml")
	f, err := os.Create(pkg)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := cmlgen.GenerateOffers(w, offers, 5); err != nil {
		b.Fatal(err)
	}
	w.Flush()
	f.Close()
	skus := make([]string, offers)
	for i := range skus {
		skus[i] = cmlgen.OfferID(i)
	}

	type bench struct {
		name string
		be   func(b *testing.B) (backend, bool)
	}
	for _, bb := range []bench{
		{"embedded", func(b *testing.B) (backend, bool) { return embeddedBackend(b.TempDir()), true }},
		{"rabbitmq+postgres", func(b *testing.B) (backend, bool) {
			if !reachable("127.0.0.1:5432") || !reachable("127.0.0.1:5672") {
				return backend{}, false
			}
			return benchProductionBackend(b), true
		}},
	} {
		b.Run(bb.name, func(b *testing.B) {
			be, ok := bb.be(b)
			if !ok {
				b.Skip("PostgreSQL or RabbitMQ does not answer")
			}
			var total time.Duration
			for i := 0; i < b.N; i++ {
				total += runEndToEnd(b, be, pkg, skus)
			}
			b.ReportMetric(float64(offers*5*b.N)/total.Seconds(), "stock_records/s")
			b.ReportMetric(float64(offers*b.N)/total.Seconds(), "skus/s")
		})
	}
}

// benchProductionBackend is productionBackend for a benchmark.
func benchProductionBackend(b *testing.B) backend {
	dsn := newPostgresDB(b)
	prefix := "obmenhub-bench-" + randomSuffix()
	b.Cleanup(func() { deleteRabbitObjects(prefix) })
	return backend{
		name: "rabbitmq+postgres",
		yaml: fmt.Sprintf("store: {driver: postgres, dsn_env: E2E_PG_DSN}\nbus: {driver: amqp, url_env: E2E_AMQP_URL, prefix: %s}\n", prefix),
		env:  []string{"E2E_PG_DSN=" + dsn, "E2E_AMQP_URL=" + rabbitURL},
	}
}

// runEndToEnd starts a hub on a new ledger, imports pkg and returns the
// time until the channel confirmed every SKU.
func runEndToEnd(b *testing.B, be backend, pkg string, skus []string) time.Duration {
	b.StopTimer()
	defer b.StartTimer()
	wb := wbsim.NewTest(b, wbsim.Config{Token: "bench-token", RequestsPerMinute: 1e9, Burst: 1000, Logger: testLog()})
	dir := b.TempDir()
	mapFile := filepath.Join(dir, "wb.csv")
	var m strings.Builder
	m.WriteString("sku,external_id\n")
	for i, sku := range skus {
		fmt.Fprintf(&m, "%s,%d\n", sku, 100000+i)
	}
	os.WriteFile(mapFile, []byte(m.String()), 0o600)
	for _, kv := range append(be.env, "E2E_EXCHANGE_PASSWORD=x", "E2E_WB_TOKEN=bench-token") {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
	yaml := fmt.Sprintf(`
listen: 127.0.0.1:0
log_level: error
%s
exchange: {username: 1c, password_env: E2E_EXCHANGE_PASSWORD, dir: %q}
channels:
  - {name: wildberries, kind: wildberries, base_url: %q, token_env: E2E_WB_TOKEN, warehouse_id: 1, requests_per_minute: 1000000000, binding: {by: map, file: %q}}
`, be.yaml, filepath.Join(dir, "exchange"), wb.URL, mapFile)
	cfg, err := config.Parse([]byte(yaml), "bench.yaml")
	if err != nil {
		b.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, testLog())
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
	for !a.Consuming("wildberries") {
		time.Sleep(5 * time.Millisecond)
	}

	b.StartTimer()
	start := time.Now()
	if _, err := a.Ingest.ImportFile(context.Background(), pkg, "offers.xml"); err != nil {
		b.Fatal(err)
	}
	for wb.Stats().Updated < len(skus) {
		time.Sleep(2 * time.Millisecond)
	}
	// The last push is confirmed once the worker has written its state.
	waitIdle(b, a)
	took := time.Since(start)
	b.StopTimer()
	return took
}
