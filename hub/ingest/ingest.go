// Package ingest applies accepted 1C files to the ledger and announces the
// changes on the bus.
package ingest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"golang.org/x/sync/errgroup"

	"obmenhub/hub/bus"
	"obmenhub/hub/ledger"
	"obmenhub/hub/model"
)

// ParseFunc streams the records of one file into h; the CommerceML parser
// is one.
type ParseFunc func(r io.Reader, file string, h model.Handler) (*model.Document, error)

// Service applies files. It implements the exchange endpoint's Importer.
type Service struct {
	Store     ledger.Store
	Publisher message.Publisher
	Parse     ParseFunc
	Log       *slog.Logger
	// Now returns the current time. Default time.Now.
	Now func() time.Time
	// AfterCommit, when set, runs after each file is committed and
	// announced, with the file's header and result.
	AfterCommit func(ctx context.Context, doc *model.Document, res *ledger.FileResult)
}

// Result is the outcome of one imported file.
type Result struct {
	Document *model.Document
	ledger.FileResult
}

// publishesInFlight is how many events Publish sends at once.
const publishesInFlight = 8

// Publish announces on the bus the SKUs that committed file seq changed,
// then marks the file published in the ledger's outbox. The SKUs are read
// back from the ledger page by page, so memory does not grow with the
// file. Announcing a file twice is harmless: an event only marks SKUs to
// be checked against the ledger.
func (s *Service) Publish(ctx context.Context, seq int64, file string) error {
	// Each Publish call waits for its broker confirm, so several calls run
	// at once to keep that many confirms in flight. The order of events does
	// not matter, because each only marks SKUs to be checked.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(publishesInFlight)
	announced := 0
	err := s.Store.ChangedSKUs(gctx, seq, bus.MaxSKUsPerEvent, func(skus []string) error {
		announced += len(skus)
		g.Go(func() error { return bus.PublishStockChanged(s.Publisher, file, seq, skus) })
		return gctx.Err()
	})
	if werr := g.Wait(); werr != nil {
		return werr
	}
	if err != nil {
		return err
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	if err := s.Store.MarkPublished(ctx, seq, now()); err != nil {
		return err
	}
	s.Log.Debug("file announced", "file", file, "seq", seq, "changed_skus", announced)
	return nil
}

// Import parses the file at path, which 1C uploaded as name, and applies it
// to the ledger in one transaction: if parsing fails at any point, nothing
// of the file is stored. The session id is only logged.
func (s *Service) Import(ctx context.Context, session, path, name string) error {
	_, err := s.ImportFile(ctx, path, name, slog.String("session", session))
	return err
}

// ImportFile is Import returning what changed.
func (s *Service) ImportFile(ctx context.Context, path, name string, logAttrs ...any) (*Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", name, err)
	}
	defer f.Close()
	return s.ImportReader(ctx, f, name, logAttrs...)
}

// ImportReader is ImportFile reading from r.
func (s *Service) ImportReader(ctx context.Context, r io.Reader, name string, logAttrs ...any) (*Result, error) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	log := s.Log.With(logAttrs...).With("file", name)
	start := now()
	h := &fileHandler{ctx: ctx, store: s.Store, accepted: start}
	doc, err := s.Parse(bufio.NewReaderSize(r, 1<<20), name, h)
	if werr := h.finish(); err == nil {
		err = werr
	}
	if err == nil && h.tx == nil {
		err = errors.New("parser emitted no document header")
	}
	if err != nil {
		if h.tx != nil {
			h.tx.Rollback()
		}
		var ie *model.InputError
		if errors.As(err, &ie) {
			log.Warn("file rejected", "err", err)
		} else {
			log.Error("import failed", "err", err)
		}
		return nil, err
	}
	res, err := h.tx.Commit(ctx)
	if err != nil {
		log.Error("import failed", "err", err)
		return nil, err
	}
	log.Info("file imported", "kind", doc.Kind, "seq", res.Version.Seq, "products", res.Products,
		"offers", res.Offers, "took", now().Sub(start))
	if err := s.Publish(ctx, res.Version.Seq, name); err != nil {
		// The file is committed and stays in the outbox until the relay
		// announces it, so the hub can still return success to 1C.
		log.Warn("stock events not published; the outbox relay retries", "seq", res.Version.Seq, "err", err)
	}
	if s.AfterCommit != nil {
		s.AfterCommit(ctx, doc, res)
	}
	return &Result{Document: doc, FileResult: *res}, nil
}

// fileHandler opens the ledger transaction when the parser emits the
// document header, then hands records to a writer goroutine in batches,
// so that parsing and ledger writes run on two cores at once.
type fileHandler struct {
	ctx      context.Context
	store    ledger.Store
	accepted time.Time
	tx       ledger.FileTx

	batch   []record
	work    chan []record
	free    chan []record
	written chan error // the writer's result, sent once
	failed  error      // the writer's error, once seen
}

// record is one product or one offer; the other pointer is nil.
type record struct {
	product *model.Product
	offer   *model.Offer
}

// pipeBatch is how many records one hand-off carries.
const pipeBatch = 512

func (h *fileHandler) Document(d *model.Document) error {
	if h.tx != nil {
		return errors.New("parser emitted a second document header")
	}
	tx, err := h.store.BeginFile(h.ctx, d, h.accepted)
	if err != nil {
		return err
	}
	h.tx = tx
	h.work = make(chan []record, 4)
	h.free = make(chan []record, 6)
	h.written = make(chan error, 1)
	go h.write()
	return nil
}

// write applies batches until work is closed or a write fails.
func (h *fileHandler) write() {
	for b := range h.work {
		for _, r := range b {
			var err error
			if r.product != nil {
				err = h.tx.Product(r.product)
			} else {
				err = h.tx.Offer(r.offer)
			}
			if err != nil {
				h.written <- err
				// Drain the channel so that the parser, which sends until it sees
				// the error, does not block on a stopped writer.
				for range h.work {
				}
				return
			}
		}
		select {
		case h.free <- b[:0]:
		default:
		}
	}
	h.written <- nil
}

func (h *fileHandler) add(r record) error {
	if h.tx == nil {
		return errors.New("parser emitted a record before the document header")
	}
	if h.failed != nil {
		return h.failed
	}
	if h.batch == nil {
		select {
		case h.batch = <-h.free:
		default:
			h.batch = make([]record, 0, pipeBatch)
		}
	}
	h.batch = append(h.batch, r)
	if len(h.batch) < pipeBatch {
		return nil
	}
	return h.send()
}

func (h *fileHandler) send() error {
	select {
	case h.work <- h.batch:
		h.batch = nil
		return nil
	case err := <-h.written:
		h.failed = err
		if err == nil {
			err = errors.New("ledger writer stopped early")
		}
		return err
	}
}

// finish hands over the last batch and waits for the writer. It returns
// the first error the writer met.
func (h *fileHandler) finish() error {
	if h.work == nil {
		return nil
	}
	var err error
	if h.failed == nil && len(h.batch) > 0 {
		err = h.send()
	}
	close(h.work)
	if h.failed != nil {
		return h.failed
	}
	if werr := <-h.written; werr != nil {
		return werr
	}
	return err
}

func (h *fileHandler) Product(p *model.Product) error {
	c := *p
	c.Barcodes = append([]string(nil), p.Barcodes...)
	return h.add(record{product: &c})
}

func (h *fileHandler) Offer(o *model.Offer) error {
	// The parser reuses its record between calls; the writer needs a copy.
	c := *o
	if o.Quantity != nil {
		q := *o.Quantity
		c.Quantity = &q
	}
	c.Stocks = append([]model.Stock(nil), o.Stocks...)
	c.Prices = append([]model.Price(nil), o.Prices...)
	return h.add(record{offer: &c})
}
