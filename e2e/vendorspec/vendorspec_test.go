package vendorspec

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

func newRequest(t *testing.T, method, url, body string, header map[string]string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		r.Header.Set(k, v)
	}
	return r
}

func TestValidateRequest(t *testing.T) {
	ozonAuth := map[string]string{"Client-Id": "1", "Api-Key": "k"}
	wbAuth := map[string]string{"Authorization": "token"}
	const ozonURL = "http://127.0.0.1:1/v2/products/stocks"
	const wbURL = "http://127.0.0.1:1/api/v3/stocks/42"
	const ozonPricesURL = "http://127.0.0.1:1/v1/product/import/prices"
	const wbPricesURL = "http://127.0.0.1:1/api/v2/upload/task"

	tests := []struct {
		name    string
		vendor  Vendor
		method  string
		url     string
		body    string
		header  map[string]string
		wantErr bool
	}{
		{"ozon valid by offer_id", Ozon, http.MethodPost, ozonURL, `{"stocks":[{"offer_id":"A-1","stock":5,"warehouse_id":22142605386000}]}`, ozonAuth, false},
		{"ozon stock as string", Ozon, http.MethodPost, ozonURL, `{"stocks":[{"offer_id":"A-1","stock":"5","warehouse_id":1}]}`, ozonAuth, true},
		{"ozon missing warehouse", Ozon, http.MethodPost, ozonURL, `{"stocks":[{"offer_id":"A-1","stock":5}]}`, ozonAuth, true},
		{"ozon missing api key", Ozon, http.MethodPost, ozonURL, `{"stocks":[{"offer_id":"A-1","stock":5,"warehouse_id":1}]}`, map[string]string{"Client-Id": "1"}, true},
		{"ozon unknown path", Ozon, http.MethodPost, "http://127.0.0.1:1/v9/nothing", `{}`, ozonAuth, true},
		{"wb valid", Wildberries, http.MethodPut, wbURL, `{"stocks":[{"chrtId":12345678,"amount":10}]}`, wbAuth, false},
		{"wb chrtId as string", Wildberries, http.MethodPut, wbURL, `{"stocks":[{"chrtId":"12345678","amount":10}]}`, wbAuth, true},
		{"wb amount above maximum", Wildberries, http.MethodPut, wbURL, `{"stocks":[{"chrtId":1,"amount":100001}]}`, wbAuth, true},
		{"wb empty stocks", Wildberries, http.MethodPut, wbURL, `{"stocks":[]}`, wbAuth, true},
		{"wb warehouse not a number", Wildberries, http.MethodPut, "http://127.0.0.1:1/api/v3/stocks/abc", `{"stocks":[{"chrtId":1,"amount":1}]}`, wbAuth, true},
		{"wb missing token", Wildberries, http.MethodPut, wbURL, `{"stocks":[{"chrtId":1,"amount":1}]}`, nil, true},
		{"ozon price valid", Ozon, http.MethodPost, ozonPricesURL, `{"prices":[{"offer_id":"A-1","price":"1448.5","old_price":"0","currency_code":"RUB"}]}`, ozonAuth, false},
		{"ozon price as number", Ozon, http.MethodPost, ozonPricesURL, `{"prices":[{"offer_id":"A-1","price":1448.5,"old_price":"0"}]}`, ozonAuth, true},
		{"ozon price over 1000 items", Ozon, http.MethodPost, ozonPricesURL, ozonPrices(1001), ozonAuth, true},
		{"ozon price at 1000 items", Ozon, http.MethodPost, ozonPricesURL, ozonPrices(1000), ozonAuth, false},
		{"wb price upload valid", Wildberries, http.MethodPost, wbPricesURL, `{"data":[{"nmID":123,"price":999,"discount":30}]}`, wbAuth, false},
		{"wb price upload nmID as string", Wildberries, http.MethodPost, wbPricesURL, `{"data":[{"nmID":"123","price":999}]}`, wbAuth, true},
		{"wb price upload fractional price", Wildberries, http.MethodPost, wbPricesURL, `{"data":[{"nmID":123,"price":999.5}]}`, wbAuth, true},
		{"wb price upload missing nmID", Wildberries, http.MethodPost, wbPricesURL, `{"data":[{"price":999}]}`, wbAuth, true},
		{"wb price upload without data", Wildberries, http.MethodPost, wbPricesURL, `{}`, wbAuth, true},
		{"wb task status valid", Wildberries, http.MethodGet, "http://127.0.0.1:1/api/v2/history/tasks?uploadID=146567", "", wbAuth, false},
		{"wb task status without uploadID", Wildberries, http.MethodGet, "http://127.0.0.1:1/api/v2/history/tasks", "", wbAuth, true},
		{"wb task details valid", Wildberries, http.MethodGet, "http://127.0.0.1:1/api/v2/history/goods/task?uploadID=1&limit=1000&offset=0", "", wbAuth, false},
		{"wb task details limit above maximum", Wildberries, http.MethodGet, "http://127.0.0.1:1/api/v2/history/goods/task?uploadID=1&limit=1001", "", wbAuth, true},
		{"wb buffer status valid", Wildberries, http.MethodGet, "http://127.0.0.1:1/api/v2/buffer/tasks?uploadID=1", "", wbAuth, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := For(t, tc.vendor)
			r := newRequest(t, tc.method, tc.url, tc.body, tc.header)
			err := spec.ValidateRequest(r)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ValidateRequest error = %v, want error %v", err, tc.wantErr)
			}
		})
	}
}

// ozonPrices returns a price request body with n items.
func ozonPrices(n int) string {
	items := make([]string, n)
	for i := range items {
		items[i] = fmt.Sprintf(`{"offer_id":"A-%d","price":"100","old_price":"0"}`, i)
	}
	return `{"prices":[` + strings.Join(items, ",") + `]}`
}

func TestValidateRequestKeepsBody(t *testing.T) {
	spec := For(t, Wildberries)
	body := `{"stocks":[{"chrtId":1,"amount":1}]}`
	r := newRequest(t, http.MethodPut, "http://127.0.0.1:1/api/v3/stocks/1", body, map[string]string{"Authorization": "t"})
	if err := spec.ValidateRequest(r); err != nil {
		t.Fatalf("ValidateRequest: %v", err)
	}
	got, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != body {
		t.Errorf("body after validation = %q, want %q", got, body)
	}
}

func TestValidateResponse(t *testing.T) {
	spec := For(t, Ozon)
	r := newRequest(t, http.MethodPost, "http://127.0.0.1:1/v2/products/stocks", `{}`, nil)
	header := http.Header{"Content-Type": {"application/json"}}

	good := `{"result":[{"warehouse_id":1,"product_id":0,"offer_id":"A","updated":false,"errors":[{"code":"TOO_MANY_REQUESTS","message":"m"}]}]}`
	if err := spec.ValidateResponse(r, 200, header, []byte(good)); err != nil {
		t.Errorf("valid response rejected: %v", err)
	}
	bad := `{"result":[{"offer_id":"A","updated":"no"}]}`
	if err := spec.ValidateResponse(r, 200, header, []byte(bad)); err == nil {
		t.Error("response with updated as string passed validation")
	}
}
