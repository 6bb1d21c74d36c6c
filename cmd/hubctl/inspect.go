package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"

	"obmenhub/hub/model"
	"obmenhub/mapping/commerceml"
)

func init() {
	commands["inspect"] = command{
		summary: "print the canonical records of CommerceML files as JSON lines, or one summary object",
		run:     runInspect,
	}
}

// record is one line of 'hubctl inspect' output: Type is "document",
// "product" or "offer", File the path as given on the command line, and
// Record the model.Document, model.Product or model.Offer as JSON.
type record struct {
	Type   string `json:"type"`
	File   string `json:"file"`
	Record any    `json:"record"`
}

func runInspect(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	summaryOnly := fs.Bool("summary", false, "print one JSON object with totals for all files instead of the records")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: hubctl inspect [--summary] FILE...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return errExit
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errExit
	}

	out := bufio.NewWriterSize(stdout, 64<<10)
	defer out.Flush()

	var h model.Handler
	var sum *summary
	var lines *jsonLines
	if *summaryOnly {
		sum = newSummary()
		h = sum
	} else {
		lines = &jsonLines{enc: json.NewEncoder(out)}
		h = lines
	}

	failed := false
	for _, path := range fs.Args() {
		if lines != nil {
			lines.file = path
		}
		doc, err := parseFile(path, h)
		if err != nil {
			failed = true
			reportError(stderr, path, err)
			continue
		}
		if sum != nil {
			sum.addVersion(doc.SchemaVersion)
		}
	}
	if failed {
		// A partial summary would pass for a complete one, so print none.
		return errExit
	}
	if sum != nil {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(sum)
	}
	return nil
}

func parseFile(path string, h model.Handler) (*model.Document, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return commerceml.Parse(f, path, commerceml.Options{}, h)
}

// reportError prints a rejected file's English cause and, for input errors,
// the Russian message that the 1C operator would see.
func reportError(w io.Writer, path string, err error) {
	var ie *model.InputError
	if errors.As(err, &ie) {
		fmt.Fprintf(w, "hubctl inspect: rejected %v\n  %s\n", err, ie.Ru)
		return
	}
	fmt.Fprintf(w, "hubctl inspect: %s: %v\n", path, err)
}

// jsonLines writes every record as one JSON line.
type jsonLines struct {
	enc  *json.Encoder
	file string
}

func (j *jsonLines) Document(d *model.Document) error {
	return j.enc.Encode(record{Type: "document", File: j.file, Record: d})
}

func (j *jsonLines) Product(p *model.Product) error {
	return j.enc.Encode(record{Type: "product", File: j.file, Record: p})
}

func (j *jsonLines) Offer(o *model.Offer) error {
	return j.enc.Encode(record{Type: "offer", File: j.file, Record: o})
}

// summary is the output of 'hubctl inspect --summary'. Deleted counts
// products and offers marked deleted. StockTotal adds, per offer, its
// per-warehouse quantities where it lists any and its Количество otherwise.
type summary struct {
	Products         int                      `json:"products"`
	Offers           int                      `json:"offers"`
	Prices           int                      `json:"prices"`
	Deleted          int                      `json:"deleted"`
	StockTotal       model.Decimal            `json:"stock_total"`
	StockByWarehouse map[string]model.Decimal `json:"stock_by_warehouse"`
	SchemaVersions   []string                 `json:"schema_versions"`
}

func newSummary() *summary {
	return &summary{StockByWarehouse: map[string]model.Decimal{}, SchemaVersions: []string{}}
}

func (s *summary) addVersion(v string) {
	if v != "" && !slices.Contains(s.SchemaVersions, v) {
		s.SchemaVersions = append(s.SchemaVersions, v)
		slices.Sort(s.SchemaVersions)
	}
}

func (s *summary) Document(*model.Document) error { return nil }

func (s *summary) Product(p *model.Product) error {
	s.Products++
	if p.Deleted {
		s.Deleted++
	}
	return nil
}

func (s *summary) Offer(o *model.Offer) error {
	s.Offers++
	s.Prices += len(o.Prices)
	if o.Deleted {
		s.Deleted++
	}
	for _, st := range o.Stocks {
		sum, err := add(s.StockByWarehouse[st.Warehouse], st.Quantity)
		if err != nil {
			return err
		}
		s.StockByWarehouse[st.Warehouse] = sum
		if s.StockTotal, err = add(s.StockTotal, st.Quantity); err != nil {
			return err
		}
	}
	if len(o.Stocks) == 0 && o.Quantity != nil {
		var err error
		if s.StockTotal, err = add(s.StockTotal, *o.Quantity); err != nil {
			return err
		}
	}
	return nil
}

func add(a, b model.Decimal) (model.Decimal, error) {
	d, err := a.Add(b.Decimal)
	if err != nil {
		return a, fmt.Errorf("stock sum overflows: %w", err)
	}
	return model.Decimal{Decimal: d}, nil
}
