package generic

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Config describes a channel in YAML. The hub reads it from a channel's
// generic: section; see the package documentation for an example.
type Config struct {
	// URL is the endpoint that stock and prices go to, unless stock.url or
	// price.url overrides it. Absolute http:// or https:// URL.
	URL string `yaml:"url"`
	// Method is the HTTP method: POST, PUT or PATCH. Default POST.
	Method string `yaml:"method"`
	// ContentType is the Content-Type of the request body. Default
	// application/json. A type containing "json" makes the adapter check
	// that every rendered body is valid JSON.
	ContentType string `yaml:"content_type"`
	// Auth selects how requests authenticate.
	Auth AuthConfig `yaml:"auth"`
	// Headers are sent with every request. Values are not secret; use
	// auth for credentials.
	Headers map[string]string `yaml:"headers"`
	// BatchSize is the most items in one request. Default 100.
	BatchSize int `yaml:"batch_size"`
	// RequestsPerMinute limits the request rate. Default 60.
	RequestsPerMinute float64 `yaml:"requests_per_minute"`
	// Burst is the number of requests sent at once after an idle period.
	// Default 1.
	Burst int `yaml:"burst"`
	// Timeout bounds one attempt of a request, such as 30s. Default 30s.
	Timeout time.Duration `yaml:"timeout"`
	// Stock is the stock request. Required.
	Stock OperationConfig `yaml:"stock"`
	// Price is the price request. Optional: without it the adapter does
	// not push prices.
	Price *OperationConfig `yaml:"price"`
	// Response configures how to read the channel's responses.
	Response ResponseConfig `yaml:"response"`
}

// OperationConfig is one kind of request: stock or price.
type OperationConfig struct {
	// URL overrides Config.URL for this request.
	URL string `yaml:"url"`
	// Method overrides Config.Method for this request.
	Method string `yaml:"method"`
	// Body is a Go text/template that renders the request body from
	// TemplateData. Required.
	Body string `yaml:"body"`
}

// Auth types.
const (
	AuthNone   = "none"
	AuthBasic  = "basic"
	AuthBearer = "bearer"
	AuthHeader = "header"
)

// AuthConfig names the credentials of the channel. Secrets are never in
// the YAML itself: the *_env keys name environment variables, and Resolve
// reads them into the fields tagged yaml:"-".
type AuthConfig struct {
	// Type is none, basic, bearer or header. Default none.
	Type string `yaml:"type"`
	// User is the basic auth user name.
	User string `yaml:"user"`
	// PasswordEnv names the variable with the basic auth password.
	PasswordEnv string `yaml:"password_env"`
	// TokenEnv names the variable with the bearer token.
	TokenEnv string `yaml:"token_env"`
	// Name is the header that carries the secret for type header, such as
	// X-Api-Key.
	Name string `yaml:"name"`
	// ValueEnv names the variable with that header's value.
	ValueEnv string `yaml:"value_env"`

	// Password, Token and Value are the resolved secrets. Resolve fills
	// them; tests may set them directly. Never logged.
	Password string `yaml:"-"`
	Token    string `yaml:"-"`
	Value    string `yaml:"-"`
}

// ResponseConfig selects which responses succeed and where per-item failures
// are.
type ResponseConfig struct {
	// SuccessStatus lists the HTTP statuses that mean the request was
	// taken. Default every 2xx. A listed non-2xx status, such as 207 or
	// 422, is read for item errors instead of failing the whole request.
	SuccessStatus []int `yaml:"success_status"`
	// ItemErrors, when set, finds per-item failures in a successful
	// response.
	ItemErrors *ItemErrorsConfig `yaml:"item_errors"`
}

// Item error classes.
const (
	ClassPermanent = "permanent"
	ClassRetriable = "retriable"
)

// Values of ItemErrorsConfig.Match.
const (
	MatchExternalID = "external_id"
	MatchSKU        = "sku"
)

// ItemErrorsConfig finds per-item failures in a response body. Paths use
// the GJSON syntax (github.com/tidwall/gjson): usually dotted field names
// such as errors or result.failed, with # for array length and n for the
// n-th element.
type ItemErrorsConfig struct {
	// Path leads from the response's root to the failures: an array of
	// objects, or one object. Missing or null means no failures.
	// Required.
	Path string `yaml:"path"`
	// IDField is the path, inside one failure, to the id of the failed
	// item. A failure without an id applies to every item of the
	// request. Required.
	IDField string `yaml:"id_field"`
	// Match selects which item id IDField holds: external_id or sku.
	// Default external_id.
	Match string `yaml:"match"`
	// MessageField is the path, inside one failure, to its message.
	// Optional.
	MessageField string `yaml:"message_field"`
	// CodeField is the path, inside one failure, to its error code,
	// used by RetriableCodes and shown in errors. Optional.
	CodeField string `yaml:"code_field"`
	// Class is the class of a failure: permanent (the item needs a change
	// by the seller) or retriable (it may succeed later). Default
	// permanent.
	Class string `yaml:"class"`
	// RetriableCodes are codes that make a failure retriable whatever
	// Class is. Needs CodeField.
	RetriableCodes []string `yaml:"retriable_codes"`
}

// Defaults of Config fields. The channel is any HTTP API, so these are
// modest starting values, not one vendor's documented limits.
const (
	DefaultMethod            = http.MethodPost
	DefaultContentType       = "application/json"
	DefaultBatchSize         = 100
	DefaultRequestsPerMinute = 60
	DefaultBurst             = 1
	DefaultTimeout           = 30 * time.Second
)

// SetDefaults fills every empty field with its default.
func (c *Config) SetDefaults() {
	if c.Method == "" {
		c.Method = DefaultMethod
	}
	c.Method = strings.ToUpper(c.Method)
	if c.ContentType == "" {
		c.ContentType = DefaultContentType
	}
	if c.Auth.Type == "" {
		c.Auth.Type = AuthNone
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.RequestsPerMinute == 0 {
		c.RequestsPerMinute = DefaultRequestsPerMinute
	}
	if c.Burst == 0 {
		c.Burst = DefaultBurst
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if ie := c.Response.ItemErrors; ie != nil {
		if ie.Match == "" {
			ie.Match = MatchExternalID
		}
		if ie.Class == "" {
			ie.Class = ClassPermanent
		}
	}
}

// Resolve reads the secrets that Auth names from getenv, usually
// os.Getenv. It returns an error naming the YAML key and the variable
// when a needed variable is unset or empty.
func (c *Config) Resolve(getenv func(string) string) error {
	read := func(key, name string) (string, error) {
		if name == "" {
			return "", fmt.Errorf("auth.%s is empty; name the environment variable that holds the secret", key)
		}
		v := getenv(name)
		if v == "" {
			return "", fmt.Errorf("auth.%s names environment variable %s, which is not set; export it before starting the hub", key, name)
		}
		return v, nil
	}

	var err error
	switch c.Auth.Type {
	case AuthBasic:
		c.Auth.Password, err = read("password_env", c.Auth.PasswordEnv)
	case AuthBearer:
		c.Auth.Token, err = read("token_env", c.Auth.TokenEnv)
	case AuthHeader:
		c.Auth.Value, err = read("value_env", c.Auth.ValueEnv)
	}
	return err
}

var (
	headerName = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
	methods    = []string{http.MethodPost, http.MethodPut, http.MethodPatch}
)

// Validate checks c after SetDefaults, including that the body templates
// parse and render sample items, and returns every problem found, each
// naming its YAML key. It does not need the secrets resolved.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if c.URL != "" {
		if err := checkURL(c.URL); err != nil {
			add("url: %w", err)
		}
	}
	if !isMethod(c.Method) {
		add("method %q: use POST, PUT or PATCH", c.Method)
	}
	if c.BatchSize < 1 {
		add("batch_size %d: must be at least 1", c.BatchSize)
	}
	if c.RequestsPerMinute <= 0 {
		add("requests_per_minute %v: must be greater than 0", c.RequestsPerMinute)
	}
	if c.Burst < 1 {
		add("burst %d: must be at least 1", c.Burst)
	}
	if c.Timeout < 0 {
		add("timeout %s: must not be negative", c.Timeout)
	}
	errs = append(errs, c.validateAuth()...)
	for _, name := range slices.Sorted(maps.Keys(c.Headers)) {
		value := c.Headers[name]
		switch {
		case !headerName.MatchString(name):
			add("headers: %q is not a valid HTTP header name", name)
		case strings.EqualFold(name, "Content-Type"):
			add("headers: set Content-Type with content_type, not headers")
		case strings.EqualFold(name, "Authorization") && c.Auth.Type != AuthNone:
			add("headers: Authorization conflicts with auth.type %s; remove one", c.Auth.Type)
		case strings.ContainsAny(value, "\r\n"):
			add("headers: value of %s contains a line break", name)
		}
	}

	errs = append(errs, c.validateOperation("stock", &c.Stock, KindStock)...)
	if c.Price != nil {
		errs = append(errs, c.validateOperation("price", c.Price, KindPrice)...)
	}
	errs = append(errs, c.validateResponse()...)
	return errors.Join(errs...)
}

func (c *Config) validateAuth() []error {
	a := c.Auth
	var errs []error
	need := func(key, value string) {
		if value == "" {
			errs = append(errs, fmt.Errorf("auth.%s is empty; auth.type %s needs it", key, a.Type))
		}
	}
	switch a.Type {
	case AuthNone:
	case AuthBasic:
		need("user", a.User)
		need("password_env", a.PasswordEnv)
		if strings.Contains(a.User, ":") {
			errs = append(errs, fmt.Errorf("auth.user %q contains a colon, which basic auth cannot carry", a.User))
		}
	case AuthBearer:
		need("token_env", a.TokenEnv)
	case AuthHeader:
		need("name", a.Name)
		need("value_env", a.ValueEnv)
		if a.Name != "" && !headerName.MatchString(a.Name) {
			errs = append(errs, fmt.Errorf("auth.name %q is not a valid HTTP header name", a.Name))
		}
	default:
		errs = append(errs, fmt.Errorf("auth.type %q: use none, basic, bearer or header", a.Type))
	}
	return errs
}

func (c *Config) validateOperation(key string, op *OperationConfig, kind string) []error {
	var errs []error
	switch {
	case op.URL != "":
		if err := checkURL(op.URL); err != nil {
			errs = append(errs, fmt.Errorf("%s.url: %w", key, err))
		}
	case c.URL == "":
		errs = append(errs, fmt.Errorf("%s.url and url are both empty; set the endpoint in one of them", key))
	}
	if op.Method != "" && !isMethod(strings.ToUpper(op.Method)) {
		errs = append(errs, fmt.Errorf("%s.method %q: use POST, PUT or PATCH", key, op.Method))
	}
	if strings.TrimSpace(op.Body) == "" {
		errs = append(errs, fmt.Errorf("%s.body is empty; write a text/template that renders the request body", key))
		return errs
	}
	tmpl, err := parseBody(key+".body", op.Body)
	if err != nil {
		return append(errs, err)
	}
	if err := dryRun(tmpl, key+".body", kind, c.ContentType); err != nil {
		errs = append(errs, err)
	}
	return errs
}

func (c *Config) validateResponse() []error {
	var errs []error
	for _, code := range c.Response.SuccessStatus {
		if code < 200 || code > 599 {
			errs = append(errs, fmt.Errorf("response.success_status: %d is not an HTTP status of a response (200-599)", code))
		}
	}
	ie := c.Response.ItemErrors
	if ie == nil {
		return errs
	}
	if ie.Path == "" {
		errs = append(errs, errors.New("response.item_errors.path is empty; give the GJSON path to the list of failures, such as errors"))
	}
	if ie.IDField == "" {
		errs = append(errs, errors.New("response.item_errors.id_field is empty; give the field of a failure that names the item, such as sku"))
	}
	if ie.Match != MatchExternalID && ie.Match != MatchSKU {
		errs = append(errs, fmt.Errorf("response.item_errors.match %q: use external_id or sku", ie.Match))
	}
	if ie.Class != ClassPermanent && ie.Class != ClassRetriable {
		errs = append(errs, fmt.Errorf("response.item_errors.class %q: use permanent or retriable", ie.Class))
	}
	if len(ie.RetriableCodes) > 0 && ie.CodeField == "" {
		errs = append(errs, errors.New("response.item_errors.retriable_codes needs response.item_errors.code_field"))
	}
	return errs
}

func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a URL: %w", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q must be an absolute http:// or https:// URL", raw)
	}
	return nil
}

func isMethod(m string) bool { return slices.Contains(methods, m) }

// operation returns the effective URL and method of op.
func (c *Config) operation(op *OperationConfig) (string, string) {
	u, m := op.URL, strings.ToUpper(op.Method)
	if u == "" {
		u = c.URL
	}
	if m == "" {
		m = c.Method
	}
	return u, m
}
