package commerceml

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"obmenhub/e2e/testdata"
	"obmenhub/hub/model"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.jsonl from the parser's output")

// sharedCase is the hand-checked expectation for one shared real file.
// Counts come from grep -c on the file, values from reading the XML.
type sharedCase struct {
	file string

	// For a rejected file: substrings of the English and Russian messages.
	rejectErr, rejectRu string

	kind                              model.DocumentKind
	version                           string
	generated                         string // RFC 3339; zone from Options (Moscow)
	changesOnly                       bool
	products, offers, prices, deleted int
	warehouses, priceTypes            int
	check                             func(t *testing.T, r *recorder, d *model.Document)
}

const ordersErr, ordersRu = "orders/documents file", "документ заказов, а не пакет каталога или предложений"
const xsdErr, xsdRu = "XML Schema", "схема XML (XSD)"

var sharedCases = []sharedCase{
	{file: "argentcrusade__documents-example.xml", rejectErr: ordersErr, rejectRu: ordersRu},
	{file: "carono-yii2__from.xml", rejectErr: ordersErr, rejectRu: ordersRu},
	{file: "carono-yii2__to.xml", rejectErr: ordersErr, rejectRu: ordersRu},
	{file: "dobromyslov__bitrix-query-response-full.xml", rejectErr: ordersErr, rejectRu: ordersRu},
	{file: "irpsv-bxm6docs__documents.xml", rejectErr: "<Контейнер>", rejectRu: ordersRu},
	{file: "irpsv-offdoc__orders.xml", rejectErr: ordersErr, rejectRu: ordersRu},
	{file: "dobromyslov__commerceml-2.08.xsd", rejectErr: xsdErr, rejectRu: xsdRu},
	{file: "dobromyslov__commerceml-2.10.xsd", rejectErr: xsdErr, rejectRu: xsdRu},
	{file: "imega__cml204.xsd", rejectErr: xsdErr, rejectRu: xsdRu},
	{file: "imega__cml205.xsd", rejectErr: xsdErr, rejectRu: xsdRu},
	{file: "imega__cml207.xsd", rejectErr: xsdErr, rejectRu: xsdRu},
	{file: "imega__cml209.xsd", rejectErr: xsdErr, rejectRu: xsdRu},
	{
		file: "argentcrusade__remainders-example.xml", kind: model.KindRests, version: "3.1",
		generated: "2017-11-01T20:58:23+03:00", changesOnly: true, offers: 2,
		check: func(t *testing.T, r *recorder, d *model.Document) {
			o := r.offer(t, "6c4e0c4b-6c2c-11e7-81d6-38d547224d22")
			wantStocks(t, o, 7, map[string]string{
				"a3d8885d-d931-11e6-a8e7-38d547224d22": "4",
				"ebab87fa-bcf4-11e6-b36c-38d547224d22": "3",
				"c7ceb2f4-833b-11e7-b922-38d547224d22": "6",
				"40a509b5-2a20-11e7-8ec8-38d547224d22": "0",
			})
			o = r.offer(t, "6c4e0c4d-6c2c-11e7-81d6-38d547224d22")
			wantStocks(t, o, 7, map[string]string{"a3d8885d-d931-11e6-a8e7-38d547224d22": "29", "c7ceb2f4-833b-11e7-b922-38d547224d22": "12"})
		},
	},
	{
		file: "bogutski__offers.xml", kind: model.KindOffers, version: "2.08",
		generated: "2017-09-13T16:36:52+03:00", offers: 523, prices: 523, priceTypes: 1,
		check: func(t *testing.T, r *recorder, d *model.Document) {
			if d.PackageID != "bcb4206a-d129-4dd3-bc1e-b8f10d1b8e9b#" || d.CatalogID != "bcb4206a-d129-4dd3-bc1e-b8f10d1b8e9b" {
				t.Errorf("package/catalog id = %q/%q", d.PackageID, d.CatalogID)
			}
			for _, o := range r.offers {
				if o.Quantity == nil || !o.Quantity.IsZero() {
					t.Fatalf("offer %s quantity = %v, want 0 (all 523 Количество are 0)", o.SKU, o.Quantity)
				}
			}
		},
	},
	{
		file: "carono-php__offers.xml", kind: model.KindOffers, version: "2.07",
		generated: "2017-07-13T14:45:41+03:00", offers: 5, prices: 5, priceTypes: 1, warehouses: 5,
	},
	{
		file: "dobromyslov__import0_1.xml", kind: model.KindCatalog, version: "2.07",
		generated: "2020-04-07T13:16:06+03:00", products: 36, deleted: 1,
		check: func(t *testing.T, r *recorder, d *model.Document) {
			p := r.product(t, "b631c9c1-49de-11e9-80c9-0cc47ab29cd1") // <Товар Статус="Удален">
			if !p.Deleted || p.Article != "KM-245-BC" {
				t.Errorf("product b631c9c1: deleted=%v article=%q, want true, KM-245-BC", p.Deleted, p.Article)
			}
			p = r.product(t, "bd8c4e15-18f9-11e7-80c2-0cc47ab29cd1")
			if p.Deleted || p.Article != "PM-421-WP" || len(p.Barcodes) != 1 || p.Barcodes[0] != "8809288404089" {
				t.Errorf("product bd8c4e15 = %s", jsonString(p))
			}
			barcodes := 0
			for _, p := range r.products {
				barcodes += len(p.Barcodes)
			}
			if barcodes != 22 {
				t.Errorf("barcodes = %d, want 22", barcodes)
			}
		},
	},
	{
		file: "dobromyslov__offers0_1.xml", kind: model.KindOffers, version: "2.07",
		generated: "2020-04-07T12:08:44+03:00", offers: 44, prices: 44, priceTypes: 1, warehouses: 3,
		check: func(t *testing.T, r *recorder, d *model.Document) {
			o := r.offer(t, "bd8c4e15-18f9-11e7-80c2-0cc47ab29cd1")
			wantQuantity(t, o, "377")
			wantStocks(t, o, 3, map[string]string{
				"6abdb0b5-18fd-11e7-80c2-0cc47ab29cd1": "1",
				"d2a52d49-19c9-11e7-80c2-0cc47ab29cd1": "0",
				"dd306af1-19c9-11e7-80c2-0cc47ab29cd1": "376",
			})
			wantPrice(t, o, "279b6812-740b-11e8-80c8-0cc47ab29cd1", "100", "RUB", "PCE")
			if o.Article != "PM-421-WP" {
				t.Errorf("article = %q", o.Article)
			}
		},
	},
	{
		file: "gillbeits__import___b815e2db-7a65-4265-9241-5f0c4f0565a7.xml", kind: model.KindCatalog, version: "2.09",
		generated: "2015-07-08T14:10:30+03:00", changesOnly: true, warehouses: 1, priceTypes: 1,
		check: func(t *testing.T, r *recorder, d *model.Document) {
			if d.CatalogID != "86bca4ea-eb3a-4beb-b0d6-2090dbef560e" {
				t.Errorf("catalog id = %q", d.CatalogID)
			}
		},
	},
	{
		file: "gillbeits__offers___7f304edc-2527-4d3d-b058-6e4ee53de2e0.xml", kind: model.KindOffers, version: "2.09",
		generated: "2015-07-08T14:11:10+03:00", changesOnly: true, offers: 978,
	},
	{
		file: "gillbeits__prices___d66a6b51-ce9c-4e7a-8c7c-25079721107f.xml", kind: model.KindPrices, version: "2.09",
		generated: "2015-07-08T14:11:10+03:00", changesOnly: true, offers: 978, prices: 978,
	},
	{
		file: "gillbeits__rests___1af6e7b8-a026-4690-9752-1c9d64cb914d.xml", kind: model.KindRests, version: "2.09",
		generated: "2015-07-08T14:11:11+03:00", changesOnly: true, offers: 978,
		check: func(t *testing.T, r *recorder, d *model.Document) {
			o := r.offer(t, "633e7908-4eb6-11e4-99fe-003048c64779")
			wantStocks(t, o, 1, map[string]string{"5d1caeb1-44b2-11e4-a628-003048c64779": "-1"})
		},
	},
	{
		file: "irpsv-bxm6__import.xml", kind: model.KindCatalog, version: "3.1",
		generated: "2017-08-24T13:50:45+03:00", changesOnly: true, warehouses: 12, priceTypes: 8,
	},
	{
		file: "irpsv-bxm6goods__import.xml", kind: model.KindCatalog, version: "3.1",
		generated: "2017-08-24T13:50:58+03:00", changesOnly: true, products: 21,
	},
	{
		file: "irpsv-bxm6goods__offers.xml", kind: model.KindOffers, version: "3.1",
		generated: "2017-08-24T13:50:59+03:00", changesOnly: true, offers: 86, deleted: 6,
		check: func(t *testing.T, r *recorder, d *model.Document) {
			o := r.offer(t, "56ece96f-ae16-11e5-9468-00155d020201#d708d39f-168c-11e6-946e-00155d020201")
			if !o.Deleted || o.ProductID != "56ece96f-ae16-11e5-9468-00155d020201" || o.CharacteristicID != "d708d39f-168c-11e6-946e-00155d020201" {
				t.Errorf("offer = %s", jsonString(o))
			}
			if d.PackageID != "3471fae0-92bc-47f5-8234-db142906215a#" {
				t.Errorf("package id = %q", d.PackageID)
			}
		},
	},
	{
		file: "irpsv-bxm6goods__prices.xml", kind: model.KindPrices, version: "3.1",
		generated: "2017-08-24T13:50:59+03:00", changesOnly: true, offers: 86, prices: 86,
	},
	{
		file: "irpsv-bxm6goods__rests.xml", kind: model.KindRests, version: "3.1",
		generated: "2017-08-24T13:51:00+03:00", changesOnly: true, offers: 86,
		check: func(t *testing.T, r *recorder, d *model.Document) {
			stocks := 0
			for _, o := range r.offers {
				stocks += len(o.Stocks)
			}
			if stocks != 1032 {
				t.Errorf("stocks = %d, want 1032 (one per Остаток)", stocks)
			}
		},
	},
	{
		file: "irpsv-offdoc__import.xml", kind: model.KindCatalog, version: "2.04",
		generated: "2008-01-09T18:13:34+03:00", products: 4,
	},
	{
		file: "irpsv-offdoc__offers.xml", kind: model.KindOffers, version: "2.04",
		generated: "2008-01-09T18:13:34+03:00", offers: 2, prices: 8, priceTypes: 4,
		check: func(t *testing.T, r *recorder, d *model.Document) {
			o := r.offer(t, "05e26d70-01e4-11dc-a411-00055d80a2d1#05e26d76-01e4-11dc-a411-00055d80a2d1")
			wantQuantity(t, o, "0")
			wantPrice(t, o, "bd72d8fc-55bc-11d9-848a-00112f43529a", "4", "USD", "шт")
			if o.Name != "Стол обеденный" {
				t.Errorf("name = %q", o.Name)
			}
		},
	},
	{
		file: "irpsv-ut101__offers.xml", kind: model.KindOffers, version: "2.05",
		generated: "2017-08-23T15:50:12+03:00", offers: 103, prices: 84, deleted: 6, priceTypes: 1,
		check: func(t *testing.T, r *recorder, d *model.Document) {
			// <Статус>Удален</Статус> stands at the end of this offer.
			o := r.offer(t, "56ece96f-ae16-11e5-9468-00155d020201#d708d38b-168c-11e6-946e-00155d020201")
			if !o.Deleted {
				t.Errorf("offer d708d38b not deleted")
			}
		},
	},
	{
		file: "oslrz__import0_1.xml", kind: model.KindCatalog, version: "2.07",
		generated: "2021-05-11T18:15:17+03:00", products: 271,
		check: func(t *testing.T, r *recorder, d *model.Document) {
			barcodes := 0
			for _, p := range r.products {
				barcodes += len(p.Barcodes)
			}
			if barcodes != 105 {
				t.Errorf("barcodes = %d, want 105", barcodes)
			}
		},
	},
}

func TestSharedFiles(t *testing.T) {
	dir, err := testdata.Dir()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, tc := range sharedCases {
		seen[tc.file] = true
		t.Run(tc.file, func(t *testing.T) {
			rec, doc, err := parseShared(t, tc.file)
			checkGolden(t, tc.file, rec, err)
			if tc.rejectErr != "" {
				wantInputError(t, err, tc.file, tc.rejectErr, tc.rejectRu)
				if len(rec.order) != 0 {
					t.Errorf("rejected file emitted %v", rec.order)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			checkShared(t, tc, rec, doc)
		})
	}

	// Every XML or XSD file in the shared directory needs a case.
	entries, err := os.ReadDir(filepath.Join(dir, "commerceml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if ext := filepath.Ext(e.Name()); (ext == ".xml" || ext == ".xsd") && !seen[e.Name()] {
			t.Errorf("shared file %s has no case in sharedCases", e.Name())
		}
	}
}

func checkShared(t *testing.T, tc sharedCase, rec *recorder, doc *model.Document) {
	t.Helper()
	if len(rec.docs) != 1 || rec.order[0] != "document" {
		t.Fatalf("emission order %v, want one document first", rec.order[:min(3, len(rec.order))])
	}
	if doc.Kind != tc.kind {
		t.Errorf("kind = %q, want %q", doc.Kind, tc.kind)
	}
	if doc.SchemaVersion != tc.version {
		t.Errorf("schema version = %q, want %q", doc.SchemaVersion, tc.version)
	}
	if got := doc.Generated.Format(time.RFC3339); got != tc.generated {
		t.Errorf("generated = %s, want %s", got, tc.generated)
	}
	if doc.ChangesOnly != tc.changesOnly {
		t.Errorf("changes only = %v, want %v", doc.ChangesOnly, tc.changesOnly)
	}
	if doc.File != tc.file {
		t.Errorf("document file = %q", doc.File)
	}
	if len(rec.products) != tc.products {
		t.Errorf("products = %d, want %d", len(rec.products), tc.products)
	}
	if len(rec.offers) != tc.offers {
		t.Errorf("offers = %d, want %d", len(rec.offers), tc.offers)
	}
	if got := rec.prices(); got != tc.prices {
		t.Errorf("prices = %d, want %d", got, tc.prices)
	}
	if got := rec.deleted(); got != tc.deleted {
		t.Errorf("deleted = %d, want %d", got, tc.deleted)
	}
	if len(doc.Warehouses) != tc.warehouses {
		t.Errorf("warehouses = %d, want %d", len(doc.Warehouses), tc.warehouses)
	}
	if len(doc.PriceTypes) != tc.priceTypes {
		t.Errorf("price types = %d, want %d", len(doc.PriceTypes), tc.priceTypes)
	}
	for _, w := range doc.Warehouses {
		if w.ID == "" {
			t.Errorf("warehouse without id: %+v", w)
		}
	}
	if tc.check != nil {
		tc.check(t, rec, doc)
	}
}

func wantQuantity(t *testing.T, o model.Offer, want string) {
	t.Helper()
	if o.Quantity == nil || !equalDecimal(*o.Quantity, dec(want)) {
		t.Errorf("offer %s quantity = %v, want %s", o.SKU, o.Quantity, want)
	}
}

// wantStocks checks the number of stock entries and the quantity of some.
func wantStocks(t *testing.T, o model.Offer, n int, want map[string]string) {
	t.Helper()
	if len(o.Stocks) != n {
		t.Errorf("offer %s has %d stocks, want %d", o.SKU, len(o.Stocks), n)
	}
	for wh, q := range want {
		found := false
		for _, s := range o.Stocks {
			if s.Warehouse == wh {
				found = true
				if !equalDecimal(s.Quantity, dec(q)) {
					t.Errorf("offer %s warehouse %s quantity = %s, want %s", o.SKU, wh, s.Quantity, q)
				}
			}
		}
		if !found {
			t.Errorf("offer %s has no stock on warehouse %s", o.SKU, wh)
		}
	}
}

func wantPrice(t *testing.T, o model.Offer, priceType, value, currency, unit string) {
	t.Helper()
	for _, p := range o.Prices {
		if p.PriceType == priceType {
			if !equalDecimal(p.Value, dec(value)) || p.Currency != currency || p.Unit != unit {
				t.Errorf("offer %s price %s = %s, want %s %s/%s", o.SKU, priceType, jsonString(p), value, currency, unit)
			}
			return
		}
	}
	t.Errorf("offer %s has no price of type %s", o.SKU, priceType)
}

// checkGolden compares the records (or the error) of one file with its
// JSON-lines golden file, or rewrites the file under -update.
func checkGolden(t *testing.T, file string, rec *recorder, parseErr error) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	var ie *model.InputError
	if errors.As(parseErr, &ie) {
		enc.Encode(map[string]string{"type": "error", "err": ie.Err.Error(), "ru": ie.Ru})
	}
	d, p, o := 0, 0, 0
	for _, kind := range rec.order {
		switch kind {
		case "document":
			enc.Encode(map[string]any{"type": kind, "record": rec.docs[d]})
			d++
		case "product":
			enc.Encode(map[string]any{"type": kind, "record": rec.products[p]})
			p++
		case "offer":
			enc.Encode(map[string]any{"type": kind, "record": rec.offers[o]})
			o++
		}
	}
	path := filepath.Join("testdata", "golden", file+".jsonl")
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run go test -update to create it): %v", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		got := bufio.NewScanner(&buf)
		exp := bufio.NewScanner(bytes.NewReader(want))
		got.Buffer(nil, 1<<20)
		exp.Buffer(nil, 1<<20)
		for line := 1; ; line++ {
			g, e := got.Scan(), exp.Scan()
			if !g && !e {
				break
			}
			if got.Text() != exp.Text() {
				t.Fatalf("golden %s differs at line %d:\n got: %s\nwant: %s", path, line, got.Text(), exp.Text())
			}
		}
	}
}
