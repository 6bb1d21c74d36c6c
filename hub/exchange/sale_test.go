package exchange

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"obmenhub/e2e/testdata"
	"obmenhub/hub/model"
	"obmenhub/mapping/commerceml"
)

// fakeOrders is an in-memory OrderExporter: Pending returns every order
// that Confirm has not yet received.
type fakeOrders struct {
	mu         sync.Mutex
	orders     []commerceml.Order
	confirmed  map[string]bool
	confirms   [][]string
	applied    [][]commerceml.OrderStatus
	pendingErr error
	confirmErr error
	applyErr   error
}

func newFakeOrders() *fakeOrders {
	msk := time.FixedZone("MSK", 3*60*60)
	return &fakeOrders{
		confirmed: make(map[string]bool),
		orders: []commerceml.Order{
			{
				Channel: "ozon", ID: "ozon-1", Number: "OZ-1", Currency: "руб", Status: "[N] Принят",
				Date:  time.Date(2025, 3, 1, 9, 0, 0, 0, msk),
				Lines: []commerceml.OrderLine{{SKU: "p1#c1", Name: "Чай зелёный", Qty: 2, Price: model.MustDecimal("150.50")}},
			},
			{
				Channel: "wb", ID: "wb-2", Currency: "руб",
				Date:  time.Date(2025, 3, 1, 10, 0, 0, 0, msk),
				Lines: []commerceml.OrderLine{{SKU: "p2", Name: "Кофе", Qty: 1, Price: model.MustDecimal("990")}},
			},
		},
	}
}

func (f *fakeOrders) Pending(ctx context.Context) ([]commerceml.Order, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pendingErr != nil {
		return nil, f.pendingErr
	}
	var out []commerceml.Order
	for _, o := range f.orders {
		if !f.confirmed[o.ID] {
			out = append(out, o)
		}
	}
	return out, nil
}

func (f *fakeOrders) Confirm(ctx context.Context, ids []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.confirmErr != nil {
		return f.confirmErr
	}
	f.confirms = append(f.confirms, slices.Clone(ids))
	for _, id := range ids {
		f.confirmed[id] = true
	}
	return nil
}

func (f *fakeOrders) ApplyStatuses(ctx context.Context, statuses []commerceml.OrderStatus) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.applyErr != nil {
		return f.applyErr
	}
	f.applied = append(f.applied, slices.Clone(statuses))
	return nil
}

func (f *fakeOrders) confirmCalls() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.confirms)
}

func (f *fakeOrders) applyCalls() [][]commerceml.OrderStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.applied)
}

func newSaleEnv(t *testing.T, orders *fakeOrders, encoding string) *testEnv {
	t.Helper()
	return newTestEnv(t, &fakeImporter{}, func(cfg *Config) {
		cfg.Sale = SaleConfig{Orders: orders, Encoding: encoding}
	})
}

func sq(mode string, kv ...string) url.Values {
	v := q(mode, kv...)
	v.Set("type", "sale")
	return v
}

// saleLogin runs checkauth and init for type=sale; initQuery adds
// parameters to init, such as version for protocol 3.x.
func (c *client) saleLogin(initQuery ...string) {
	c.env.t.Helper()
	r := c.do("GET", sq("checkauth"), nil)
	if r.lines[0] != "success" {
		c.env.t.Fatalf("checkauth: %q", r.lines)
	}
	c.cookie = r.lines[1] + "=" + r.lines[2]
	init := c.do("GET", sq("init", initQuery...), nil)
	if init.lines[0] != "zip=no" {
		c.env.t.Fatalf("init line 1 = %q, want zip=no", init.lines)
	}
}

type rawResponse struct {
	contentType string
	body        []byte
}

// query runs mode=query and returns the undecoded response.
func (c *client) query() rawResponse {
	c.env.t.Helper()
	req := httptest.NewRequest("GET", c.path+"?"+sq("query").Encode(), nil)
	req.Header.Set("Authorization", c.auth)
	req.Header.Set("Cookie", c.cookie)
	resp, err := c.env.app.Test(req, -1)
	if err != nil {
		c.env.t.Fatalf("query: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		c.env.t.Fatalf("read query body: %v", err)
	}
	return rawResponse{contentType: resp.Header.Get("Content-Type"), body: body}
}

type queryDocument struct {
	Documents []struct {
		ID    string `xml:"Ид"`
		Sum   string `xml:"Сумма"`
		Lines []struct {
			ID   string `xml:"Ид"`
			Name string `xml:"Наименование"`
		} `xml:"Товары>Товар"`
	} `xml:"Документ"`
}

// decodeQuery decodes a query response with the charset its Content-Type
// names, not the one in its XML declaration, as a strict client would.
func decodeQuery(t *testing.T, r rawResponse) queryDocument {
	t.Helper()
	_, charset, ok := strings.Cut(r.contentType, "charset=")
	if !ok {
		t.Fatalf("Content-Type %q has no charset", r.contentType)
	}

	text := r.body
	switch strings.ToLower(charset) {
	case "windows-1251":
		decoded, err := charmap.Windows1251.NewDecoder().Bytes(r.body)
		if err != nil {
			t.Fatalf("decode windows-1251: %v", err)
		}
		text = decoded
	case "utf-8":
	default:
		t.Fatalf("unexpected charset %q", charset)
	}
	if !utf8.Valid(text) {
		t.Fatalf("body is not valid text in %s", charset)
	}

	if !bytes.HasPrefix(text, []byte(`<?xml version="1.0" encoding="`+charset+`"?>`)) {
		t.Errorf("XML declaration does not name charset %s: %.60q", charset, text)
	}

	dec := xml.NewDecoder(bytes.NewReader(text))
	// The text is UTF-8 already, regardless of the declared encoding.
	dec.CharsetReader = func(_ string, in io.Reader) (io.Reader, error) { return in, nil }
	var doc queryDocument
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("decode query response: %v\n%s", err, text)
	}
	return doc
}

func documentIDs(doc queryDocument) []string {
	var ids []string
	for _, d := range doc.Documents {
		ids = append(ids, d.ID)
	}
	return ids
}

func readShared(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(testdata.Path(t, "commerceml", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestSaleConversation(t *testing.T) {
	orders := newFakeOrders()
	env := newSaleEnv(t, orders, "")
	c := env.client()
	c.saleLogin()

	resp := c.query()
	if resp.contentType != "application/xml; charset=windows-1251" {
		t.Errorf("Content-Type = %q, want application/xml; charset=windows-1251 by default", resp.contentType)
	}
	doc := decodeQuery(t, resp)
	if got := documentIDs(doc); !slices.Equal(got, []string{"ozon-1", "wb-2"}) {
		t.Fatalf("query ids = %v, want [ozon-1 wb-2]", got)
	}
	if got := doc.Documents[0].Sum; got != "301.00" {
		t.Errorf("first order Сумма = %q, want 301.00", got)
	}
	if got := doc.Documents[0].Lines[0].Name; got != "Чай зелёный" {
		t.Errorf("first line Наименование = %q, want Чай зелёный", got)
	}
	if n := len(orders.confirmCalls()); n != 0 {
		t.Fatalf("Confirm calls before success = %d, want 0", n)
	}

	if r := c.do("GET", sq("success"), nil); r.lines[0] != "success" {
		t.Fatalf("success: %q", r.lines)
	}
	confirms := orders.confirmCalls()
	if len(confirms) != 1 || !slices.Equal(confirms[0], []string{"ozon-1", "wb-2"}) {
		t.Fatalf("Confirm calls = %v, want one with [ozon-1 wb-2]", confirms)
	}

	// 1C sends its status changes with mode=file (protocol 2.x).
	to := readShared(t, "carono-yii2__to.xml")
	if r := c.do("POST", sq("file", "filename", "to.xml"), to); r.lines[0] != "success" {
		t.Fatalf("file: %q", r.lines)
	}
	applied := orders.applyCalls()
	if len(applied) != 1 || len(applied[0]) != 1 {
		t.Fatalf("ApplyStatuses calls = %v, want one with one status", applied)
	}
	st := applied[0][0]
	if st.ID != "20" || st.Status != "[F] Доставлен" {
		t.Errorf("status = %q %q, want 20 [F] Доставлен", st.ID, st.Status)
	}
	if st.Final == nil || !*st.Final || st.Paid == nil || !*st.Paid {
		t.Errorf("Финальный статус and Заказ оплачен = %v %v, want true true", st.Final, st.Paid)
	}

	if r := c.do("GET", sq("complete"), nil); r.lines[0] != "success" {
		t.Fatalf("complete: %q", r.lines)
	}

	// The confirmed orders are not sent again.
	c.saleLogin()
	if got := documentIDs(decodeQuery(t, c.query())); len(got) != 0 {
		t.Errorf("query after success = %v, want no orders", got)
	}
}

func TestSaleQueryWithoutSuccessRepeats(t *testing.T) {
	orders := newFakeOrders()
	env := newSaleEnv(t, orders, "")
	c := env.client()
	c.saleLogin()

	first := documentIDs(decodeQuery(t, c.query()))
	second := documentIDs(decodeQuery(t, c.query()))
	if !slices.Equal(first, []string{"ozon-1", "wb-2"}) || !slices.Equal(second, first) {
		t.Fatalf("queries = %v then %v, want [ozon-1 wb-2] twice", first, second)
	}

	// A new exchange without success in between gets them again too.
	c.saleLogin()
	if got := documentIDs(decodeQuery(t, c.query())); !slices.Equal(got, first) {
		t.Errorf("query in a new session = %v, want %v", got, first)
	}
	if n := len(orders.confirmCalls()); n != 0 {
		t.Errorf("Confirm calls = %d, want 0 without success", n)
	}
}

func TestSaleSuccessConfirmsOnlyQueried(t *testing.T) {
	orders := newFakeOrders()
	env := newSaleEnv(t, orders, "")
	c := env.client()
	c.saleLogin()
	c.query()

	// An order that arrives between query and success was not sent, so
	// success must not confirm it.
	orders.mu.Lock()
	late := orders.orders[0]
	late.ID = "ozon-3"
	orders.orders = append(orders.orders, late)
	orders.mu.Unlock()

	c.do("GET", sq("success"), nil)
	confirms := orders.confirmCalls()
	if len(confirms) != 1 || slices.Contains(confirms[0], "ozon-3") {
		t.Fatalf("Confirm calls = %v, want one without ozon-3", confirms)
	}
	if got := documentIDs(decodeQuery(t, c.query())); !slices.Equal(got, []string{"ozon-3"}) {
		t.Errorf("next query = %v, want [ozon-3]", got)
	}

	// A second success without a new query confirms nothing more.
	c.do("GET", sq("success"), nil)
	c.do("GET", sq("success"), nil)
	if n := len(orders.confirmCalls()); n != 2 {
		t.Errorf("Confirm calls = %d, want 2", n)
	}
}

func TestSaleSuccessWithoutQuery(t *testing.T) {
	orders := newFakeOrders()
	env := newSaleEnv(t, orders, "")
	c := env.client()
	c.saleLogin()

	if r := c.do("GET", sq("success"), nil); r.lines[0] != "success" {
		t.Fatalf("success: %q", r.lines)
	}
	if n := len(orders.confirmCalls()); n != 0 {
		t.Errorf("Confirm calls = %d, want 0", n)
	}
}

func TestSaleContentTypeMatchesBytes(t *testing.T) {
	tests := []struct {
		encoding, wantType string
	}{
		{"UTF-8", "application/xml; charset=UTF-8"},
		{"windows-1251", "application/xml; charset=windows-1251"},
	}
	for _, tt := range tests {
		t.Run(tt.encoding, func(t *testing.T) {
			env := newSaleEnv(t, newFakeOrders(), tt.encoding)
			c := env.client()
			c.saleLogin()

			resp := c.query()
			if resp.contentType != tt.wantType {
				t.Errorf("Content-Type = %q, want %q", resp.contentType, tt.wantType)
			}
			isUTF8 := utf8.Valid(resp.body)
			if isUTF8 != (tt.encoding == "UTF-8") {
				t.Errorf("body valid UTF-8 = %v for charset %s", isUTF8, tt.encoding)
			}
			doc := decodeQuery(t, resp)
			if got := doc.Documents[1].Lines[0].Name; got != "Кофе" {
				t.Errorf("Наименование decoded with the header's charset = %q, want Кофе", got)
			}
		})
	}
}

func TestSaleFileInChunks(t *testing.T) {
	orders := newFakeOrders()
	env := newSaleEnv(t, orders, "")
	c := env.client()
	c.saleLogin()

	to := readShared(t, "carono-yii2__to.xml")
	half := len(to) / 2
	if r := c.do("POST", sq("file", "filename", "to.xml"), to[:half]); r.lines[0] != "success" {
		t.Fatalf("first chunk: %q", r.lines)
	}
	if n := len(orders.applyCalls()); n != 0 {
		t.Fatalf("ApplyStatuses calls after the first chunk = %d, want 0", n)
	}
	if r := c.do("POST", sq("file", "filename", "to.xml"), to[half:]); r.lines[0] != "success" {
		t.Fatalf("second chunk: %q", r.lines)
	}
	applied := orders.applyCalls()
	if len(applied) != 1 || len(applied[0]) != 1 || applied[0][0].ID != "20" {
		t.Fatalf("ApplyStatuses calls = %v, want one with order 20", applied)
	}

	// The applied file is removed, so a new upload of the same name starts
	// over instead of appending to the old one.
	if r := c.do("POST", sq("file", "filename", "to.xml"), to); r.lines[0] != "success" {
		t.Fatalf("second upload: %q", r.lines)
	}
	if n := len(orders.applyCalls()); n != 2 {
		t.Errorf("ApplyStatuses calls = %d, want 2", n)
	}
}

func TestSaleProtocol3FileThenImport(t *testing.T) {
	orders := newFakeOrders()
	env := newSaleEnv(t, orders, "")
	c := env.client()
	c.saleLogin("version", "3.1")

	docs := readShared(t, "irpsv-bxm6docs__documents.xml")
	if r := c.do("POST", sq("file", "filename", "documents.xml"), docs); r.lines[0] != "success" {
		t.Fatalf("file: %q", r.lines)
	}
	if n := len(orders.applyCalls()); n != 0 {
		t.Fatalf("ApplyStatuses calls before import = %d, want 0", n)
	}
	if r := c.do("GET", sq("import", "filename", "documents.xml"), nil); r.lines[0] != "success" {
		t.Fatalf("import: %q", r.lines)
	}
	applied := orders.applyCalls()
	if len(applied) != 1 || len(applied[0]) != 20 {
		t.Fatalf("ApplyStatuses calls = %d, want one with 20 statuses", len(applied))
	}
	assertFailure(t, c.do("GET", sq("import", "filename", "documents.xml"), nil))
}

func TestSaleFileRejected(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{"malformed", `<КоммерческаяИнформация><Документ></Ид></КоммерческаяИнформация>`},
		{"foreign root", `<?xml version="1.0"?><html><body/></html>`},
		{"document without Ид", `<КоммерческаяИнформация><Документ><Номер>1</Номер></Документ></КоммерческаяИнформация>`},
		{"not XML", `garbage`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orders := newFakeOrders()
			env := newSaleEnv(t, orders, "")
			c := env.client()
			c.saleLogin()

			assertFailure(t, c.do("POST", sq("file", "filename", "to.xml"), []byte(tt.body)))
			if n := len(orders.applyCalls()); n != 0 {
				t.Errorf("ApplyStatuses calls = %d, want 0", n)
			}
		})
	}
}

func TestSaleExporterErrors(t *testing.T) {
	orders := newFakeOrders()
	env := newSaleEnv(t, orders, "")
	c := env.client()
	c.saleLogin()

	orders.pendingErr = errors.New("database is down")
	r := c.do("GET", sq("query"), nil)
	assertFailure(t, r)
	if !strings.Contains(r.lines[1], "номер сессии") {
		t.Errorf("failure message does not name the session: %q", r.lines[1])
	}
	orders.pendingErr = nil

	c.query()
	orders.confirmErr = errors.New("database is down")
	assertFailure(t, c.do("GET", sq("success"), nil))
	orders.confirmErr = nil
	// The failed confirmation keeps the ids, so a repeated success works.
	if r := c.do("GET", sq("success"), nil); r.lines[0] != "success" {
		t.Fatalf("repeated success: %q", r.lines)
	}
	if confirms := orders.confirmCalls(); len(confirms) != 1 || len(confirms[0]) != 2 {
		t.Errorf("Confirm calls = %v, want one with two ids", confirms)
	}

	orders.applyErr = &model.InputError{File: "to.xml", Err: errors.New("unknown order 20"), Ru: "Заказ 20 не найден на сайте."}
	r = c.do("POST", sq("file", "filename", "to.xml"), readShared(t, "carono-yii2__to.xml"))
	assertFailure(t, r)
	if r.lines[1] != "Заказ 20 не найден на сайте." {
		t.Errorf("failure message = %q, want the InputError's Ru", r.lines[1])
	}
}

func TestSaleNotConfigured(t *testing.T) {
	env := newTestEnv(t, &fakeImporter{}, nil)
	c := env.client()
	for _, mode := range []string{"checkauth", "init", "query", "success"} {
		r := c.do("GET", sq(mode), nil)
		assertFailure(t, r)
		if !strings.Contains(r.lines[1], "не настроен") {
			t.Errorf("%s: message = %q, want one saying order exchange is not set up", mode, r.lines[1])
		}
	}
}

func TestSaleRequiresSession(t *testing.T) {
	orders := newFakeOrders()
	env := newSaleEnv(t, orders, "")
	c := env.client()
	c.auth = ""
	assertFailure(t, c.do("GET", sq("query"), nil))
	assertFailure(t, c.do("GET", sq("success"), nil))
	if n := len(orders.confirmCalls()); n != 0 {
		t.Errorf("Confirm calls = %d, want 0", n)
	}
}

func TestSaleReservedFilename(t *testing.T) {
	env := newSaleEnv(t, newFakeOrders(), "")
	c := env.client()
	c.saleLogin()
	assertFailure(t, c.do("POST", sq("file", "filename", saleStateFile), []byte("{}")))
}
