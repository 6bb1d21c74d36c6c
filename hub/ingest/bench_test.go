package ingest_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"obmenhub/hub/bus"
	"obmenhub/hub/ingest"
	"obmenhub/hub/ledger"
	"obmenhub/hub/model"
	"obmenhub/mapping/commerceml"
	"obmenhub/mapping/commerceml/cmlgen"
)

// benchOffers is the size of the generated package: OBMENHUB_BENCH_OFFERS,
// default 20000 (about 25 MB with 5 warehouses). make bench sets 200000.
func benchOffers(b *testing.B) int {
	n := 20000
	if s := os.Getenv("OBMENHUB_BENCH_OFFERS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			b.Fatalf("OBMENHUB_BENCH_OFFERS=%q is not a positive number", s)
		}
		n = v
	}
	return n
}

// BenchmarkIngest measures a full ingest, parse and SQLite ledger writes
// together, of a generated offers package with 5 warehouses per offer.
func BenchmarkIngest(b *testing.B) {
	offers := benchOffers(b)
	// The package is read from a file, as the exchange endpoint does, so
	// that a buffer of its size does not load the garbage collector.
	path := filepath.Join(b.TempDir(), "offers.xml")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := cmlgen.GenerateOffers(w, offers, 5); err != nil {
		b.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	size, _ := f.Seek(0, io.SeekCurrent)
	f.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		store, err := ledger.OpenSQLite(context.Background(), ledger.SQLiteConfig{Path: filepath.Join(b.TempDir(), "bench.db")})
		if err != nil {
			b.Fatal(err)
		}
		mem := bus.NewMemory(log)
		svc := &ingest.Service{Store: store, Publisher: mem.Publisher, Log: log,
			Parse: func(r io.Reader, file string, h model.Handler) (*model.Document, error) {
				return commerceml.Parse(r, file, commerceml.Options{}, h)
			}}
		b.StartTimer()
		res, err := svc.ImportFile(context.Background(), path, "offers.xml")
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if res.Offers != offers {
			b.Fatalf("ingested %d offers, want %d", res.Offers, offers)
		}
		mem.Close()
		store.Close()
	}
	b.ReportMetric(float64(offers*5*b.N)/b.Elapsed().Seconds(), "stock_records/s")
}
