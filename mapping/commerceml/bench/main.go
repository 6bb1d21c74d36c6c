// Command bench times one CommerceML parser over one file, for bench.sh.
//
//	go run ./mapping/commerceml/bench -impl commerceml FILE
//	go run ./mapping/commerceml/bench -impl encoding-xml FILE
//
// "commerceml" is the package's Parse with a handler that only counts
// records. "encoding-xml" only tokenizes with the standard library's
// xml.Decoder.Token and counts Предложение start tags, so it is a lower
// bound for any parser built on encoding/xml. Both print one JSON line with
// the file size, seconds and MB/s (10^6 bytes per second).
package main

import (
	"bufio"
	"encoding/json"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/text/encoding/htmlindex"

	"obmenhub/hub/model"
	"obmenhub/mapping/commerceml"
)

type counter struct{ products, offers int }

func (c *counter) Document(*model.Document) error { return nil }
func (c *counter) Product(*model.Product) error   { c.products++; return nil }
func (c *counter) Offer(*model.Offer) error       { c.offers++; return nil }

func main() {
	impl := flag.String("impl", "commerceml", "parser to time: commerceml or encoding-xml")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: bench -impl commerceml|encoding-xml FILE")
		os.Exit(2)
	}
	path := flag.Arg(0)
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}

	start := time.Now()
	var c counter
	switch *impl {
	case "commerceml":
		_, err = commerceml.Parse(f, path, commerceml.Options{}, &c)
	case "encoding-xml":
		c.offers, err = tokenizeStd(f)
	default:
		err = fmt.Errorf("unknown -impl %q", *impl)
	}
	elapsed := time.Since(start)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	json.NewEncoder(os.Stdout).Encode(map[string]any{
		"impl":    *impl,
		"bytes":   st.Size(),
		"seconds": elapsed.Seconds(),
		"mb_s":    float64(st.Size()) / 1e6 / elapsed.Seconds(),
		"offers":  c.offers,
	})
}

func tokenizeStd(r io.Reader) (int, error) {
	d := xml.NewDecoder(bufio.NewReaderSize(r, 256<<10))
	d.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		enc, err := htmlindex.Get(label)
		if err != nil {
			return nil, err
		}
		return enc.NewDecoder().Reader(in), nil
	}
	offers := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return offers, nil
		}
		if err != nil {
			return offers, err
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "Предложение" {
			offers++
		}
	}
}
