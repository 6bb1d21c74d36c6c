package vendorspec

import (
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
