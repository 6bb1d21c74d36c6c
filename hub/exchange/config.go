package exchange

import (
	"errors"
	"fmt"
	"time"
)

// Config is the setup of one exchange endpoint. New fills every zero field
// with the default named in its comment.
type Config struct {
	// Username and Password are the credentials that the 1C exchange node
	// sends with HTTP Basic auth. Both are required. The caller reads the
	// password from the environment; the handler never logs it.
	Username string
	Password string

	// Dir is the upload root. Each exchange session gets its own
	// subdirectory "session-<id>". Required, for example "./var/exchange".
	Dir string

	// Zip makes init return zip=yes, so that 1C packs its files into one
	// zip archive. Default false (zip=no).
	Zip bool

	// FileLimit is the file_limit, in bytes, that init returns: 1C splits a
	// larger file into POSTs of at most this size. Default 100 MiB. The
	// Fiber app's BodyLimit must be at least this large, or Fiber rejects
	// the chunk with HTTP 413 before the handler sees it.
	FileLimit int64

	// MaxUpload is the maximum size, in bytes, of one uploaded file after
	// all its chunks are appended. Default 1 GiB.
	MaxUpload int64

	// MaxUnzipped is the maximum total size, in bytes, of the entries
	// unpacked from the archives of one session. Default 4 GiB.
	MaxUnzipped int64

	// MaxEntries is the maximum number of entries in one archive, counting
	// directories. Default 100000.
	MaxEntries int

	// MaxRatio is the maximum ratio of unpacked to compressed size, checked
	// for each entry larger than 1 MiB and for each archive as a whole.
	// Default 200. Deflate cannot exceed about 1032:1, and CommerceML XML
	// usually compresses 10 to 30 times (an estimate, not a measurement).
	MaxRatio int

	// SchemaVersion is the version= line that init adds when 1C sends a
	// version query parameter (protocol 3.x). Default empty, which returns
	// the version that 1C sent.
	SchemaVersion string

	// ProgressAfter is how long an import request waits for its import to
	// finish before it returns "progress" and 1C repeats the request.
	// Default 15 s, at most 20 s.
	// NOTE: 1C's own HTTP timeout was not found in the sources checked, so
	// the 20 s bound is this project's choice, not a measured limit.
	ProgressAfter time.Duration

	// SessionTTL is how long a session lives after its last request; then
	// its uploads are removed. Default 2 h.
	SessionTTL time.Duration

	// CookieName is the cookie that checkauth returns. Default
	// "obmenhub_session". 1C copies the name and value into a Cookie
	// header on every later request.
	CookieName string

	// Clock returns the current time, for session expiry and the
	// checkauth timestamp. Default time.Now.
	Clock func() time.Time

	// Sale sets up order exchange (type=sale). Optional: the zero value
	// rejects type=sale.
	Sale SaleConfig
}

const (
	defaultFileLimit     = 100 << 20
	defaultMaxUpload     = 1 << 30
	defaultMaxUnzipped   = 4 << 30
	defaultMaxEntries    = 100000
	defaultMaxRatio      = 200
	defaultProgressAfter = 15 * time.Second
	defaultSessionTTL    = 2 * time.Hour
	defaultCookieName    = "obmenhub_session"

	// maxProgressAfter keeps every response below 1C's request timeout.
	maxProgressAfter = 20 * time.Second
)

func (c *Config) setDefaults() {
	if c.FileLimit == 0 {
		c.FileLimit = defaultFileLimit
	}
	if c.MaxUpload == 0 {
		c.MaxUpload = defaultMaxUpload
	}
	if c.MaxUnzipped == 0 {
		c.MaxUnzipped = defaultMaxUnzipped
	}
	if c.MaxEntries == 0 {
		c.MaxEntries = defaultMaxEntries
	}
	if c.MaxRatio == 0 {
		c.MaxRatio = defaultMaxRatio
	}
	if c.ProgressAfter == 0 {
		c.ProgressAfter = defaultProgressAfter
	}
	if c.SessionTTL == 0 {
		c.SessionTTL = defaultSessionTTL
	}
	if c.CookieName == "" {
		c.CookieName = defaultCookieName
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
}

func (c *Config) validate() error {
	var errs []error

	if c.Username == "" {
		errs = append(errs, errors.New("exchange: Username is required"))
	}
	if c.Password == "" {
		errs = append(errs, errors.New("exchange: Password is required"))
	}
	if c.Dir == "" {
		errs = append(errs, errors.New("exchange: Dir is required"))
	}

	if c.FileLimit < 0 {
		errs = append(errs, fmt.Errorf("exchange: FileLimit %d is negative", c.FileLimit))
	}
	if c.MaxUpload < c.FileLimit {
		errs = append(errs, fmt.Errorf("exchange: MaxUpload %d is less than FileLimit %d", c.MaxUpload, c.FileLimit))
	}
	if c.MaxUnzipped < 0 {
		errs = append(errs, fmt.Errorf("exchange: MaxUnzipped %d is negative", c.MaxUnzipped))
	}
	if c.MaxEntries < 0 {
		errs = append(errs, fmt.Errorf("exchange: MaxEntries %d is negative", c.MaxEntries))
	}
	if c.MaxRatio < 0 {
		errs = append(errs, fmt.Errorf("exchange: MaxRatio %d is negative", c.MaxRatio))
	}
	if c.ProgressAfter < 0 || c.ProgressAfter > maxProgressAfter {
		errs = append(errs, fmt.Errorf("exchange: ProgressAfter %v is outside 0..%v", c.ProgressAfter, maxProgressAfter))
	}
	if c.SessionTTL < 0 {
		errs = append(errs, fmt.Errorf("exchange: SessionTTL %v is negative", c.SessionTTL))
	}

	if !validCookieName(c.CookieName) {
		errs = append(errs, fmt.Errorf("exchange: CookieName %q may contain only letters, digits, '_' and '-'", c.CookieName))
	}
	return errors.Join(errs...)
}

func validCookieName(name string) bool {
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-'
		if !ok {
			return false
		}
	}
	return name != ""
}
