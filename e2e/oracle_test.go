package e2e

import (
	"encoding/xml"
	"errors"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

// expectedStock computes, independently of the hub's parser, the stock
// each channel should end with after the files are imported in order. It
// reads the XML with encoding/xml and applies the rules the hub documents:
// an offer's listing in a later file replaces an earlier one; per-warehouse
// quantities win over Количество; a negative level counts as 0; the sum is
// rounded down; an offer or product marked deleted shows 0. It covers the
// three stock shapes of CommerceML 2.x and 3.x.
func expectedStock(t *testing.T, warehouses []string, paths ...string) map[string]int64 {
	t.Helper()
	levels := map[string]map[string]float64{} // SKU → warehouse → quantity
	deleted := map[string]bool{}
	productDeleted := map[string]bool{}
	for _, p := range paths {
		readOracle(t, p, levels, deleted, productDeleted)
	}
	out := map[string]int64{}
	for sku, ws := range levels {
		product, _, _ := strings.Cut(sku, "#")
		if deleted[sku] || productDeleted[product] {
			out[sku] = 0
			continue
		}
		sum := 0.0
		for w, q := range ws {
			if len(warehouses) > 0 && !oneOf(w, warehouses) {
				continue
			}
			if q > 0 {
				sum += q
			}
		}
		out[sku] = int64(math.Floor(sum + 1e-9))
	}
	return out
}

func oneOf(v string, list []string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func readOracle(t *testing.T, path string, levels map[string]map[string]float64, deleted, productDeleted map[string]bool) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := xml.NewDecoder(f)
	var stack []string
	var text strings.Builder
	// Per-offer state.
	var id, whID string
	var qty *float64
	var per map[string]float64
	var del bool
	num := func(s string) float64 {
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			t.Fatalf("%s: number %q: %v", path, s, err)
		}
		return v
	}
	parent := func(n int) string {
		if len(stack) > n {
			return stack[len(stack)-1-n]
		}
		return ""
	}
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			name := el.Name.Local
			stack = append(stack, name)
			text.Reset()
			// Older schemas mark deletion with a Статус attribute.
			attrDeleted := false
			for _, a := range el.Attr {
				if a.Name.Local == "Статус" && a.Value == "Удален" {
					attrDeleted = true
				}
			}
			switch {
			case name == "Предложение":
				id, qty, per, del = "", nil, nil, attrDeleted
			case name == "Склад" && parent(1) == "Предложение":
				var w string
				var q float64
				for _, a := range el.Attr {
					switch a.Name.Local {
					case "ИдСклада":
						w = a.Value
					case "КоличествоНаСкладе":
						q = num(a.Value)
					}
				}
				if per == nil {
					per = map[string]float64{}
				}
				per[w] += q
			case name == "Товар":
				id, del = "", attrDeleted
			}
		case xml.CharData:
			text.Write(el)
		case xml.EndElement:
			name := el.Name.Local
			v := strings.TrimSpace(text.String())
			text.Reset()
			switch {
			case name == "Ид" && (parent(1) == "Предложение" || parent(1) == "Товар"):
				id = v
			case name == "Ид" && parent(1) == "Склад" && parent(2) == "Остаток":
				whID = v
			case name == "Количество" && parent(1) == "Склад" && parent(2) == "Остаток":
				if per == nil {
					per = map[string]float64{}
				}
				per[whID] += num(v)
			case name == "Количество" && parent(1) == "Остаток":
				q := num(v)
				qty = &q
			case name == "Количество" && parent(1) == "Предложение":
				q := num(v)
				qty = &q
			case name == "ПометкаУдаления" && (parent(1) == "Предложение" || parent(1) == "Товар"):
				del = v == "true"
			case name == "Статус" && (parent(1) == "Предложение" || parent(1) == "Товар"):
				del = del || v == "Удален"
			case name == "Товар":
				if del {
					productDeleted[id] = true
				}
			case name == "Предложение":
				sku := strings.TrimSuffix(id, "#")
				if del {
					deleted[sku] = true
				}
				switch {
				case per != nil:
					levels[sku] = per
				case qty != nil:
					levels[sku] = map[string]float64{"": *qty}
				case levels[sku] == nil:
					levels[sku] = map[string]float64{}
				}
			}
			stack = stack[:len(stack)-1]
		}
	}
}

// expectedPrices reads, independently of the hub's parser, the price of
// priceType for every offer: the last file that lists the offer's prices
// wins.
func expectedPrices(t *testing.T, priceType string, paths ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, path := range paths {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		dec := xml.NewDecoder(f)
		var stack []string
		var text strings.Builder
		var id, typ, value string
		for {
			tok, err := dec.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			switch el := tok.(type) {
			case xml.StartElement:
				stack = append(stack, el.Name.Local)
				text.Reset()
				if el.Name.Local == "Цена" {
					typ, value = "", ""
				}
			case xml.CharData:
				text.Write(el)
			case xml.EndElement:
				v := strings.TrimSpace(text.String())
				text.Reset()
				parent := ""
				if len(stack) > 1 {
					parent = stack[len(stack)-2]
				}
				switch {
				case el.Name.Local == "Ид" && parent == "Предложение":
					id = strings.TrimSuffix(v, "#")
				case el.Name.Local == "ИдТипаЦены" && parent == "Цена":
					typ = v
				case el.Name.Local == "ЦенаЗаЕдиницу" && parent == "Цена":
					value = v
				case el.Name.Local == "Цена" && typ == priceType && value != "":
					out[id] = value
				}
				stack = stack[:len(stack)-1]
			}
		}
		f.Close()
	}
	return out
}
