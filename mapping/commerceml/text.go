package commerceml

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// appendUnescaped appends src to dst with the five predefined XML entities
// and character references replaced.
func appendUnescaped(dst, src []byte) ([]byte, error) {
	for {
		i := bytes.IndexByte(src, '&')
		if i < 0 {
			return append(dst, src...), nil
		}
		dst = append(dst, src[:i]...)
		src = src[i+1:]
		j := bytes.IndexByte(src, ';')
		if j < 0 {
			return dst, errors.New("'&' without a closing ';' (write & as &amp;)")
		}
		ref := src[:j]
		src = src[j+1:]
		switch string(ref) {
		case "lt":
			dst = append(dst, '<')
		case "gt":
			dst = append(dst, '>')
		case "amp":
			dst = append(dst, '&')
		case "quot":
			dst = append(dst, '"')
		case "apos":
			dst = append(dst, '\'')
		default:
			r, ok := charRef(ref)
			if !ok {
				return dst, errors.New("unknown entity &" + string(ref) + ";")
			}
			dst = utf8.AppendRune(dst, r)
		}
	}
}

// charRef decodes the body of a character reference such as "#1081" or "#x439".
func charRef(ref []byte) (rune, bool) {
	if len(ref) < 2 || ref[0] != '#' {
		return 0, false
	}
	var n uint64
	var err error
	if ref[1] == 'x' {
		n, err = strconv.ParseUint(string(ref[2:]), 16, 32)
	} else {
		n, err = strconv.ParseUint(string(ref[1:]), 10, 32)
	}
	if err != nil || n == 0 || n > utf8.MaxRune || !utf8.ValidRune(rune(n)) {
		return 0, false
	}
	return rune(n), true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isBlank(b []byte) bool { return len(trimSpace(b)) == 0 }

// parseBool reads a 1C switch (ПереключательТип): "true"/"false", also "1"
// and "да" as some exporters write them.
func parseBool(b []byte) bool {
	s := string(trimSpace(b))
	return strings.EqualFold(s, "true") || s == "1" || strings.EqualFold(s, "да")
}

// isDeletedStatus reports whether a Статус value marks a deleted record.
func isDeletedStatus(b []byte) bool {
	return strings.EqualFold(string(trimSpace(b)), "Удален")
}

// parseDateTime reads ДатаФормирования: an xs:dateTime with or without a
// zone, or a bare date (2.03 packages write "2007-10-30"). A value without a
// zone is taken in loc.
func parseDateTime(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02T15:04:05", s, loc); err == nil {
		return t, nil
	}
	return time.ParseInLocation(time.DateOnly, s, loc)
}

// attribute is one attribute of a start tag; Value is still escaped.
type attribute struct {
	Name  []byte // local name, without a prefix
	Value []byte
}

// nextAttribute parses the first attribute of b, the part of a start tag
// after the element name, and returns the rest. ok is false when b holds
// no more attributes.
func nextAttribute(b []byte) (a attribute, rest []byte, ok bool, err error) {
	b = trimSpace(b)
	if len(b) == 0 {
		return attribute{}, nil, false, nil
	}
	eq := bytes.IndexByte(b, '=')
	if eq <= 0 {
		return attribute{}, nil, false, errors.New("attribute without a value")
	}
	name := trimSpace(b[:eq])
	if len(name) == 0 || bytes.ContainsAny(name, " \t\r\n\"'") {
		return attribute{}, nil, false, errors.New("invalid attribute name")
	}
	v := trimSpace(b[eq+1:])
	if len(v) == 0 || (v[0] != '"' && v[0] != '\'') {
		return attribute{}, nil, false, errors.New("attribute value is not quoted")
	}
	end := bytes.IndexByte(v[1:], v[0])
	if end < 0 {
		return attribute{}, nil, false, errors.New("attribute value is not closed")
	}
	a = attribute{Name: localName(name), Value: v[1 : 1+end]}
	return a, v[2+end:], true, nil
}

// localName strips a namespace prefix.
func localName(qname []byte) []byte {
	if i := bytes.LastIndexByte(qname, ':'); i >= 0 {
		return qname[i+1:]
	}
	return qname
}
