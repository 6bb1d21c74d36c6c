package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"obmenhub/e2e/testdata"
	"obmenhub/hub/exchange/client"
)

var cyrillic = regexp.MustCompile(`[А-Яа-яЁё]{3,}`)

// TestBadInputChangesNothing sends each kind of bad input after a good
// package and checks that 1C gets "failure" with a Russian message, and
// that the ledger and the channels still hold what the good package set.
func TestBadInputChangesNothing(t *testing.T) {
	goodPath := testdata.Path(t, "commerceml", "dobromyslov__offers0_1.xml")
	good, err := os.ReadFile(goodPath)
	if err != nil {
		t.Fatal(err)
	}
	want := expectedStock(t, nil, goodPath)
	skus := skusOf(want)
	h := startHub(t, nil, skus)
	if err := h.client().PostFiles(context.Background(), false, goodPath); err != nil {
		t.Fatal(err)
	}
	h.waitFor("Ozon", want, h.ozonStock)
	waitIdle(t, h.app)
	before := h.ledgerViews(skus)
	updatesBefore := h.ozon.Stats().Updated

	// Every quantity of the good package raised to 999: if any of it were
	// applied, the ledger would show it.
	raised := regexp.MustCompile(`КоличествоНаСкладе="[^"]*"`).ReplaceAll(good, []byte(`КоличествоНаСкладе="999"`))
	malformed := append([]byte(nil), raised...)
	if i := bytes.LastIndex(malformed, []byte("</Предложение>")); i > 0 {
		copy(malformed[i:], "</Предложенье>")
	}
	unknownEncoding := bytes.Replace(raised, []byte(`encoding="UTF-8"`), []byte(`encoding="KOI9-XYZ"`), 1)
	if bytes.Equal(unknownEncoding, raised) {
		t.Fatal("fixture: the package declares no UTF-8 encoding to replace")
	}

	tests := []struct {
		name string
		// send runs the exchange and returns the failure it got.
		send func(c *client.Client) error
	}{
		{"malformed XML", func(c *client.Client) error { return upload(c, "offers.xml", malformed) }},
		{"truncated upload", func(c *client.Client) error { return upload(c, "offers.xml", raised[:len(raised)*6/10]) }},
		{"unknown encoding", func(c *client.Client) error { return upload(c, "offers.xml", unknownEncoding) }},
		{"wrong credentials", func(c *client.Client) error {
			c.Password = "wrong"
			return upload(c, "offers.xml", raised)
		}},
		{"filename with path components", func(c *client.Client) error { return upload(c, "../../offers.xml", raised) }},
		{"file over the limit", func(c *client.Client) error { return upload(c, "offers.xml", bytes.Repeat(raised, 70)) }},
		{"zip bomb", func(c *client.Client) error {
			var buf bytes.Buffer
			zw := zip.NewWriter(&buf)
			w, _ := zw.Create("offers.xml")
			w.Write(raised)
			w.Write(make([]byte, 64<<20))
			zw.Close()
			return upload(c, "exchange.zip", buf.Bytes())
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.send(h.client())
			var f *client.FailureError
			if !errors.As(err, &f) {
				t.Fatalf("exchange error = %v, want a failure answer", err)
			}
			t.Logf("1C sees: %s", f.Message)
			if !cyrillic.MatchString(f.Message) {
				t.Errorf("failure message %q is not in Russian", f.Message)
			}
			waitIdle(t, h.app)
			after := h.ledgerViews(skus)
			for _, sku := range skus {
				if after[sku] != before[sku] {
					t.Errorf("ledger view of %s changed:\nbefore %s\nafter  %s", sku, before[sku], after[sku])
					break
				}
			}
			if n := h.ozon.Stats().Updated; n != updatesBefore {
				t.Errorf("Ozon got %d item updates after rejected input, want 0", n-updatesBefore)
			}
		})
	}
}

// upload logs in, uploads data as name and imports it.
func upload(c *client.Client, name string, data []byte) error {
	ctx := context.Background()
	if err := c.Login(ctx); err != nil {
		return err
	}
	if err := c.Upload(ctx, name, data); err != nil {
		return err
	}
	if strings.HasSuffix(name, ".zip") {
		name = "offers.xml"
	}
	return c.Import(ctx, name)
}

// ledgerViews returns the API's JSON view of each SKU.
func (h *harness) ledgerViews(skus []string) map[string]string {
	h.t.Helper()
	out := make(map[string]string, len(skus))
	for _, sku := range skus {
		resp, err := http.Get("http://" + h.app.Addr() + "/api/v1/skus/" + url.PathEscape(sku))
		if err != nil {
			h.t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		out[sku] = string(b)
	}
	return out
}
