package commerceml

import (
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"obmenhub/e2e/testdata"
	"obmenhub/hub/model"
)

// recorder keeps deep copies of every record a parse emits, in order.
type recorder struct {
	docs     []model.Document
	products []model.Product
	offers   []model.Offer
	order    []string // "document", "product", "offer" in emission order
}

func (r *recorder) Document(d *model.Document) error {
	c := *d
	c.Warehouses = slices.Clone(d.Warehouses)
	c.PriceTypes = slices.Clone(d.PriceTypes)
	r.docs = append(r.docs, c)
	r.order = append(r.order, "document")
	return nil
}

func (r *recorder) Product(p *model.Product) error {
	c := *p
	c.Barcodes = slices.Clone(p.Barcodes)
	r.products = append(r.products, c)
	r.order = append(r.order, "product")
	return nil
}

func (r *recorder) Offer(o *model.Offer) error {
	c := *o
	c.Stocks = slices.Clone(o.Stocks)
	c.Prices = slices.Clone(o.Prices)
	if o.Quantity != nil {
		q := *o.Quantity
		c.Quantity = &q
	}
	r.offers = append(r.offers, c)
	r.order = append(r.order, "offer")
	return nil
}

func (r *recorder) offer(t *testing.T, sku string) model.Offer {
	t.Helper()
	for _, o := range r.offers {
		if o.SKU == sku {
			return o
		}
	}
	t.Fatalf("offer %q not found among %d offers", sku, len(r.offers))
	return model.Offer{}
}

func (r *recorder) product(t *testing.T, id string) model.Product {
	t.Helper()
	for _, p := range r.products {
		if p.ID == id {
			return p
		}
	}
	t.Fatalf("product %q not found among %d products", id, len(r.products))
	return model.Product{}
}

func (r *recorder) deleted() int {
	n := 0
	for _, p := range r.products {
		if p.Deleted {
			n++
		}
	}
	for _, o := range r.offers {
		if o.Deleted {
			n++
		}
	}
	return n
}

func (r *recorder) prices() int {
	n := 0
	for _, o := range r.offers {
		n += len(o.Prices)
	}
	return n
}

func parseString(t *testing.T, file, xml string) (*recorder, *model.Document, error) {
	t.Helper()
	rec := &recorder{}
	doc, err := Parse(strings.NewReader(xml), file, Options{}, rec)
	return rec, doc, err
}

func parseShared(t *testing.T, name string) (*recorder, *model.Document, error) {
	t.Helper()
	f, err := os.Open(testdata.Path(t, "commerceml", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rec := &recorder{}
	doc, err := Parse(f, name, Options{}, rec)
	return rec, doc, err
}

// wantInputError asserts that err is a *model.InputError whose messages both
// name file and whose English text contains wantErr and Russian text wantRu.
func wantInputError(t *testing.T, err error, file, wantErr, wantRu string) *model.InputError {
	t.Helper()
	var ie *model.InputError
	if !errors.As(err, &ie) {
		t.Fatalf("error = %v (%T), want *model.InputError", err, err)
	}
	if ie.File != file {
		t.Errorf("InputError.File = %q, want %q", ie.File, file)
	}
	if !strings.Contains(ie.Error(), file) {
		t.Errorf("error %q does not name the file %q", ie.Error(), file)
	}
	if !strings.Contains(ie.Ru, file) {
		t.Errorf("Ru %q does not name the file %q", ie.Ru, file)
	}
	if !strings.Contains(ie.Error(), wantErr) {
		t.Errorf("error %q does not contain %q", ie.Error(), wantErr)
	}
	if !strings.Contains(ie.Ru, wantRu) {
		t.Errorf("Ru %q does not contain %q", ie.Ru, wantRu)
	}
	return ie
}

func dec(s string) model.Decimal { return model.MustDecimal(s) }

func equalDecimal(a, b model.Decimal) bool { return a.Cmp(b.Decimal) == 0 }

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
