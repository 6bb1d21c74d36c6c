package model

import (
	"fmt"
	"strings"

	"github.com/govalues/decimal"
)

// Decimal is an exact decimal quantity or amount. It encodes to JSON as a
// number, not as a string, and decodes from either.
type Decimal struct{ decimal.Decimal }

// ParseDecimal parses 1C's decimal text. It accepts a decimal comma and
// spaces between digit groups (both seen in hand-edited packages) and
// rejects anything else with an error that quotes the value.
func ParseDecimal(s string) (Decimal, error) {
	t := strings.TrimSpace(s)
	if strings.ContainsAny(t, ", \u00a0") {
		t = strings.NewReplacer(",", ".", " ", "", "\u00a0", "").Replace(t)
	}
	d, err := decimal.Parse(t)
	if err != nil {
		return Decimal{}, fmt.Errorf("invalid decimal %q: %w", s, err)
	}
	return Decimal{d}, nil
}

// MustDecimal parses s and panics on error; for tests and constants.
func MustDecimal(s string) Decimal {
	d, err := ParseDecimal(s)
	if err != nil {
		panic(err)
	}
	return d
}

// IntDecimal returns n as a Decimal.
func IntDecimal(n int64) Decimal {
	d, _ := decimal.New(n, 0)
	return Decimal{d}
}

// MarshalJSON encodes d as a JSON number.
func (d Decimal) MarshalJSON() ([]byte, error) { return []byte(d.Trim(0).String()), nil }

// UnmarshalJSON decodes a JSON number or a numeric string.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	v, err := decimal.Parse(s)
	if err != nil {
		return fmt.Errorf("invalid decimal %s: %w", b, err)
	}
	d.Decimal = v
	return nil
}

// Floor returns the largest integer not above d, saturated to the int64
// range. Channels take whole units, so fractional stock rounds down.
func (d Decimal) Floor() int64 {
	f := d.Decimal.Floor(0)
	n, _, ok := f.Int64(0)
	if !ok {
		if f.IsNeg() {
			return -1 << 63
		}
		return 1<<63 - 1
	}
	return n
}
