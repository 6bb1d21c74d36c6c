package e2e

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"obmenhub/e2e/insalessim"
	"obmenhub/e2e/testdata"
	"obmenhub/retry"
)

// offerArticles reads each offer's Артикул from an offers file.
func offerArticles(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := xml.NewDecoder(f)
	out := map[string]string{}
	var stack []string
	var text strings.Builder
	var id string
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			stack = append(stack, el.Name.Local)
			text.Reset()
		case xml.CharData:
			text.Write(el)
		case xml.EndElement:
			parent := ""
			if len(stack) > 1 {
				parent = stack[len(stack)-2]
			}
			v := strings.TrimSpace(text.String())
			switch {
			case el.Name.Local == "Ид" && parent == "Предложение":
				id = strings.TrimSuffix(v, "#")
			case el.Name.Local == "Артикул" && parent == "Предложение":
				out[id] = v
			}
			stack = stack[:len(stack)-1]
			text.Reset()
		}
	}
}

// TestBindingByChannelCatalogue binds 1C offers to InSales variants
// through the shop's own catalogue, matched by article: the hub reads the
// catalogue, pushes to the matching variant ids, and lists the SKUs the
// catalogue lacks as unbound.
func TestBindingByChannelCatalogue(t *testing.T) {
	path := testdata.Path(t, "commerceml", "dobromyslov__offers0_1.xml")
	want := expectedStock(t, nil, path)
	articles := offerArticles(t, path)
	skus := skusOf(want)
	if len(articles) < len(skus)-1 {
		t.Fatalf("oracle found %d articles for %d offers", len(articles), len(skus))
	}

	clock := retry.NewScaledClock(timeScale)
	ins := insalessim.NewTest(t, insalessim.Config{Login: "app", Password: "e2e-insales", Clock: clock, Logger: testLog()})
	// The shop sells every offer but the last, each as its own variant.
	variantOf := map[string]string{}
	var products []insalessim.Product
	for i, sku := range skus[:len(skus)-1] {
		id := int64(5000 + i)
		variantOf[sku] = fmt.Sprint(id)
		products = append(products, insalessim.Product{ID: int64(900 + i), Title: sku,
			Variants: []insalessim.ProductVariant{{ID: id, SKU: articles[sku]}}})
	}
	if err := ins.SetCatalog(products); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	t.Setenv("E2E_EXCHANGE_PASSWORD", "e2e-pass")
	t.Setenv("E2E_INSALES_PASSWORD", "e2e-insales")
	a := runHub(t, fmt.Sprintf(`
listen: 127.0.0.1:0
store: {path: %q}
exchange: {username: 1c, password_env: E2E_EXCHANGE_PASSWORD, dir: %q}
channels:
  - {name: insales, kind: insales, base_url: %q, login: app, password_env: E2E_INSALES_PASSWORD, binding: {by: catalog, match: article}}
`, filepath.Join(dir, "hub.db"), filepath.Join(dir, "x"), ins.URL), clock, nil)
	h := &harness{t: t, app: a, url: "http://" + a.Addr() + "/1c/exchange"}
	if err := h.client().PostFiles(context.Background(), false, path); err != nil {
		t.Fatal(err)
	}
	h.waitFor("InSales", pick(want, skus[:len(skus)-1]), func(sku string) (int64, bool) { return ins.Stock(variantOf[sku]) })
	waitIdle(t, a)
	if got := len(ins.Snapshot()); got != len(skus)-1 {
		t.Errorf("InSales holds %d variants, want %d", got, len(skus)-1)
	}
}
