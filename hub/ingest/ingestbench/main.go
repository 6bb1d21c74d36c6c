// Command ingestbench times a full ingest of one file, parse and SQLite
// ledger writes together, into a new ledger, for bench.sh.
//
//	go run ./hub/ingest/ingestbench -db /tmp/bench.db FILE
//
// It prints one JSON line with the file size, seconds, MB/s (10^6 bytes
// per second) and stock records per second.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"obmenhub/hub/bus"
	"obmenhub/hub/ingest"
	"obmenhub/hub/ledger"
	"obmenhub/hub/model"
	"obmenhub/mapping/commerceml"
)

func main() {
	db := flag.String("db", "", "ledger file to create; an existing file is removed first")
	flag.Parse()
	if flag.NArg() != 1 || *db == "" {
		fmt.Fprintln(os.Stderr, "usage: ingestbench -db LEDGER FILE")
		os.Exit(2)
	}
	if err := run(*db, flag.Arg(0)); err != nil {
		fmt.Fprintln(os.Stderr, "ingestbench:", err)
		os.Exit(1)
	}
}

// stockCounter counts the stock records that the parser emits.
type stockCounter struct{ records int }

func (c *stockCounter) Document(*model.Document) error { return nil }
func (c *stockCounter) Product(*model.Product) error   { return nil }
func (c *stockCounter) Offer(o *model.Offer) error {
	c.records += max(len(o.Stocks), 1)
	return nil
}

func run(dbPath, path string) error {
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(dbPath + suffix)
	}
	ctx := context.Background()
	store, err := ledger.OpenSQLite(ctx, ledger.SQLiteConfig{Path: dbPath})
	if err != nil {
		return err
	}
	defer store.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mem := bus.NewMemory(log)
	defer mem.Close()
	counter := &stockCounter{}
	svc := &ingest.Service{Store: store, Publisher: mem.Publisher, Log: log,
		Parse: func(r io.Reader, file string, h model.Handler) (*model.Document, error) {
			return commerceml.Parse(r, file, commerceml.Options{}, teeHandler{h, counter})
		}}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	start := time.Now()
	if _, err := svc.ImportFile(ctx, path, "offers.xml"); err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"bytes":            st.Size(),
		"seconds":          secs,
		"mb_per_s":         float64(st.Size()) / 1e6 / secs,
		"stock_records":    counter.records,
		"stock_records_ps": float64(counter.records) / secs,
	})
}

// teeHandler passes each record to h and then to count.
type teeHandler struct {
	h     model.Handler
	count model.Handler
}

func (t teeHandler) Document(d *model.Document) error { return t.h.Document(d) }
func (t teeHandler) Product(p *model.Product) error   { return t.h.Product(p) }
func (t teeHandler) Offer(o *model.Offer) error {
	t.count.Offer(o)
	return t.h.Offer(o)
}
