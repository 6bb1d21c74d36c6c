// Package vendorspec validates HTTP requests and responses against the
// vendors' published API descriptions (OpenAPI 3.0) kept in the shared
// testdata directory.
//
// Each spec is loaded once per process and cached. The Ozon file is not
// strict OpenAPI 3.0, so Load repairs a copy in memory (see repairOzon);
// the file on disk is never changed.
package vendorspec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"obmenhub/e2e/testdata"
)

// Vendor names a sales channel whose API description this package knows.
type Vendor string

const (
	// Ozon is the Ozon Seller API (ozon__seller-api-swagger.json).
	Ozon Vendor = "ozon"
	// Wildberries is the Wildberries products API, which contains the FBS
	// stock methods (wildberries__02-products.yaml).
	Wildberries Vendor = "wildberries"
)

// specFiles maps each vendor to its file under <testdata>/openapi.
var specFiles = map[Vendor]string{
	Ozon:        "ozon__seller-api-swagger.json",
	Wildberries: "wildberries__02-products.yaml",
}

// Spec is a loaded API description with a router that finds the operation
// of a request by method and path. Servers are dropped at load time, so a
// request to any host (an httptest server on loopback) matches.
type Spec struct {
	Vendor Vendor
	doc    *openapi3.T
	router routers.Router
}

type loadResult struct {
	spec *Spec
	err  error
}

var (
	cacheMu sync.Mutex
	cache   = map[Vendor]*loadResult{}
)

// Load returns the cached spec of vendor, loading it on first use from the
// shared testdata directory (OBMENHUB_TESTDATA overrides its location).
// A failed load is cached too, so every caller sees the same error.
func Load(vendor Vendor) (*Spec, error) {
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if r, ok := cache[vendor]; ok {
		return r.spec, r.err
	}
	spec, err := load(vendor)
	cache[vendor] = &loadResult{spec: spec, err: err}
	return spec, err
}

// For returns the spec of vendor and fails the test when it cannot be loaded.
func For(t testdata.TB, vendor Vendor) *Spec {
	t.Helper()
	spec, err := Load(vendor)
	if err != nil {
		t.Fatalf("load %s spec: %v", vendor, err)
	}
	return spec
}

func load(vendor Vendor) (*Spec, error) {
	name, ok := specFiles[vendor]
	if !ok {
		return nil, fmt.Errorf("vendorspec: unknown vendor %q", vendor)
	}
	dir, err := testdata.Dir()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "openapi", name)
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("vendorspec: read %s spec: %w", vendor, err)
	}

	if vendor == Ozon {
		raw, err = repairOzon(raw)
		if err != nil {
			return nil, fmt.Errorf("vendorspec: repair %s: %w", path, err)
		}
	}

	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(raw)
	if err != nil {
		return nil, fmt.Errorf("vendorspec: load %s: %w", path, err)
	}
	dropServers(doc)

	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("vendorspec: build router for %s: %w", path, err)
	}
	return &Spec{Vendor: vendor, doc: doc, router: router}, nil
}

// dropServers removes document, path and operation servers so that the
// router matches requests by method and path alone.
func dropServers(doc *openapi3.T) {
	doc.Servers = nil
	for _, item := range doc.Paths.Map() {
		item.Servers = nil
		for _, op := range item.Operations() {
			op.Servers = nil
		}
	}
}

// ValidateRequest checks the method, path, parameters, headers, security
// and JSON body of r against the spec. It reads r.Body and puts an
// equivalent reader back, so the request can still be served or sent.
func (s *Spec) ValidateRequest(r *http.Request) error {
	route, pathParams, err := s.router.FindRoute(r)
	if err != nil {
		return fmt.Errorf("%s spec: no operation for %s %s: %w", s.Vendor, r.Method, r.URL.Path, err)
	}

	body, err := readAndRestore(&r.Body)
	if err != nil {
		return fmt.Errorf("%s spec: read request body: %w", s.Vendor, err)
	}
	// ValidateRequest decodes the body it reads, so it gets its own copy.
	clone := r.Clone(r.Context())
	clone.Body = io.NopCloser(bytes.NewReader(body))

	input := &openapi3filter.RequestValidationInput{
		Request:    clone,
		PathParams: pathParams,
		Route:      route,
		Options: &openapi3filter.Options{
			AuthenticationFunc: requireAPIKeyHeader,
			MultiError:         true,
		},
	}
	if err := openapi3filter.ValidateRequest(context.Background(), input); err != nil {
		return fmt.Errorf("%s spec: invalid request %s %s: %w", s.Vendor, r.Method, r.URL.Path, err)
	}
	return nil
}

// ValidateResponse checks a response to r (status, headers, JSON body)
// against the operation that r matches. A status the spec does not list
// fails validation unless the operation has a default response.
func (s *Spec) ValidateResponse(r *http.Request, status int, header http.Header, body []byte) error {
	route, pathParams, err := s.router.FindRoute(r)
	if err != nil {
		return fmt.Errorf("%s spec: no operation for %s %s: %w", s.Vendor, r.Method, r.URL.Path, err)
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    r,
			PathParams: pathParams,
			Route:      route,
		},
		Status:  status,
		Header:  header,
		Body:    io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{MultiError: true, IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), input); err != nil {
		return fmt.Errorf("%s spec: invalid %d response to %s %s: %w", s.Vendor, status, r.Method, r.URL.Path, err)
	}
	return nil
}

// requireAPIKeyHeader accepts an apiKey security scheme when its header
// is present and not empty. The key's value is checked by the server.
func requireAPIKeyHeader(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	scheme := in.SecurityScheme
	if scheme == nil || scheme.Type != "apiKey" || scheme.In != "header" {
		return nil
	}
	if in.RequestValidationInput.Request.Header.Get(scheme.Name) == "" {
		return fmt.Errorf("missing header %s", scheme.Name)
	}
	return nil
}

func readAndRestore(body *io.ReadCloser) ([]byte, error) {
	if *body == nil || *body == http.NoBody {
		return nil, nil
	}
	data, err := io.ReadAll(*body)
	closeErr := (*body).Close()
	*body = io.NopCloser(bytes.NewReader(data))
	return data, errors.Join(err, closeErr)
}
