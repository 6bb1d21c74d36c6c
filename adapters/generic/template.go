package generic

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"strings"
	"text/template"
	"time"
)

// Values of TemplateData.Kind.
const (
	KindStock = "stock"
	KindPrice = "price"
)

// TemplateData is the input of a body template.
type TemplateData struct {
	// Kind is "stock" or "price".
	Kind string
	// Items is []StockTemplateItem for stock and []PriceTemplateItem for
	// prices.
	Items any
	// BatchID is 32 random hex digits, the same on every attempt of one
	// request, for a channel that deduplicates requests.
	BatchID string
	// SentAt is when the hub built the request, in UTC.
	SentAt time.Time
}

// StockTemplateItem is one stock item in a template. {{json .Items}}
// renders a list of objects with keys sku, external_id and quantity.
type StockTemplateItem struct {
	SKU        string `json:"sku"`
	ExternalID string `json:"external_id"`
	Quantity   int64  `json:"quantity"`
}

// PriceTemplateItem is one price item in a template. Prices are decimal
// strings such as "1990.5"; OldPrice is empty when there is no crossed-out
// price, and Currency is empty when the hub has none.
type PriceTemplateItem struct {
	SKU        string `json:"sku"`
	ExternalID string `json:"external_id"`
	Price      string `json:"price"`
	OldPrice   string `json:"old_price,omitempty"`
	Currency   string `json:"currency,omitempty"`
}

// templateFuncs are the helpers a body template may call, besides the
// text/template built-ins (urlquery, printf, len, index, and, or, not).
var templateFuncs = template.FuncMap{
	// json encodes any value as JSON: a string becomes a quoted, escaped
	// JSON string, and a list of items becomes a JSON array.
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	// xml escapes a string for XML text or attribute values.
	"xml": func(s string) (string, error) {
		var b strings.Builder
		err := xml.EscapeText(&b, []byte(s))
		return b.String(), err
	},
	// unix returns t as Unix seconds.
	"unix": func(t time.Time) int64 { return t.Unix() },
	// rfc3339 formats t in RFC 3339.
	"rfc3339": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
}

func parseBody(key, body string) (*template.Template, error) {
	tmpl, err := template.New(key).Option("missingkey=error").Funcs(templateFuncs).Parse(body)
	if err != nil {
		return nil, fmt.Errorf("%s: invalid template: %w", key, err)
	}
	return tmpl, nil
}

// render executes tmpl and, when contentType is a JSON type, checks that
// the result is valid JSON.
func render(tmpl *template.Template, data TemplateData, contentType string) ([]byte, error) {
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, data); err != nil {
		return nil, err
	}
	if isJSON(contentType) && !json.Valid(buf.Bytes()) {
		return nil, fmt.Errorf("rendered body is not valid JSON, as content_type %s requires; quote values with {{json .SKU}} rather than \"{{.SKU}}\": %s",
			contentType, snippet(buf.Bytes()))
	}
	return buf.Bytes(), nil
}

func isJSON(contentType string) bool { return strings.Contains(strings.ToLower(contentType), "json") }

// Sample items of the dry run. The SKU has a quote and a backslash, so a
// JSON template that does not escape values fails at config time instead
// of on the first such SKU in production.
var (
	sampleTime  = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	sampleStock = []StockTemplateItem{
		{SKU: `SAMPLE "1" \ A`, ExternalID: "1001", Quantity: 7},
		{SKU: "SAMPLE-2", ExternalID: "1002", Quantity: 0},
	}
	samplePrice = []PriceTemplateItem{
		{SKU: `SAMPLE "1" \ A`, ExternalID: "1001", Price: "1990.5", OldPrice: "2490", Currency: "RUB"},
		{SKU: "SAMPLE-2", ExternalID: "1002", Price: "10"},
	}
)

// dryRun renders tmpl with sample items of kind, to report a template
// that names an unknown field or renders invalid JSON at config time.
func dryRun(tmpl *template.Template, key, kind, contentType string) error {
	data := TemplateData{Kind: kind, Items: sampleStock, BatchID: "00000000000000000000000000000000", SentAt: sampleTime}
	if kind == KindPrice {
		data.Items = samplePrice
	}
	if _, err := render(tmpl, data, contentType); err != nil {
		return fmt.Errorf("%s: fails on sample %s items: %w", key, kind, err)
	}
	return nil
}

func snippet(b []byte) string {
	const limit = 200
	if len(b) <= limit {
		return string(b)
	}
	return string(b[:limit]) + "…"
}
