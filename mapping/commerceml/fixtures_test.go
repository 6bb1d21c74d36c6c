package commerceml

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"

	"obmenhub/hub/model"
)

const offersHead = `<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_2" ВерсияСхемы="2.07" ДатаФормирования="2024-03-01T10:00:00">
<ПакетПредложений СодержитТолькоИзменения="true"><Ид>cat#</Ид><ИдКаталога>cat</ИдКаталога>
<Склады><Склад><Ид>w1</Ид><Наименование>Основной</Наименование></Склад><Склад><Ид>w2</Ид></Склад></Склады>
<Предложения>
`
const offersTail = "</Предложения></ПакетПредложений></КоммерческаяИнформация>\n"

func TestWindows1251Offers(t *testing.T) {
	src := strings.Replace(offersHead, "UTF-8", "windows-1251", 1) +
		`<Предложение><Ид>p1#c1</Ид><Наименование>Ботинки &quot;Зима&quot;</Наименование><Количество>3</Количество></Предложение>` + offersTail
	encoded, err := charmap.Windows1251.NewEncoder().String(src)
	if err != nil {
		t.Fatal(err)
	}
	rec, doc, err := parseString(t, "offers1251.xml", encoded)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if doc.Kind != model.KindRests || len(doc.Warehouses) != 2 || doc.Warehouses[0].Name != "Основной" {
		t.Errorf("document = %s", jsonString(doc))
	}
	o := rec.offer(t, "p1#c1")
	if o.Name != `Ботинки "Зима"` {
		t.Errorf("name = %q", o.Name)
	}
	wantQuantity(t, o, "3")
}

func TestUnknownEncoding(t *testing.T) {
	src := `<?xml version="1.0" encoding="x-klingon-8"?><КоммерческаяИнформация/>`
	_, _, err := parseString(t, "klingon.xml", src)
	wantInputError(t, err, "klingon.xml", `unsupported encoding "x-klingon-8"`, "UTF-8 или windows-1251")
}

func TestMalformedXML(t *testing.T) {
	cases := []struct{ name, src, wantErr string }{
		{"mismatched tag", offersHead + "<Предложение><Ид>a</Ид></Цена>" + offersTail, "does not match"},
		{"bad entity", offersHead + "<Предложение><Ид>a&b</Ид></Предложение>" + offersTail, "'&' without a closing ';'"},
		{"unquoted attribute", `<КоммерческаяИнформация ВерсияСхемы=2.07></КоммерческаяИнформация>`, "not quoted"},
		{"text after root", `<КоммерческаяИнформация><Каталог/></КоммерческаяИнформация>junk`, "text outside the root"},
		{"second root", `<КоммерческаяИнформация><Каталог/></КоммерческаяИнформация><КоммерческаяИнформация/>`, "after the end of the root"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := parseString(t, "bad.xml", tc.src)
			ie := wantInputError(t, err, "bad.xml", tc.wantErr, "повреждён: ошибка XML в строке")
			var se *SyntaxError
			if se, _ = ie.Err.(*SyntaxError); se == nil || se.Pos.Line < 1 {
				t.Errorf("cause = %#v, want *SyntaxError with a line", ie.Err)
			}
		})
	}
}

func TestMalformedLineNumber(t *testing.T) {
	src := offersHead + "<Предложение>\n<Ид>a</Ид>\n</Цена>" + offersTail
	_, _, err := parseString(t, "bad.xml", src)
	ie := wantInputError(t, err, "bad.xml", "does not match", "строке 8")
	if se := ie.Err.(*SyntaxError); se.Pos.Line != 8 || se.Pos.Offset != int64(strings.Index(src, "</Цена>")) {
		t.Errorf("position = %+v, want line 8, offset %d", se.Pos, strings.Index(src, "</Цена>"))
	}
}

func TestTruncatedFile(t *testing.T) {
	full := offersHead + "<Предложение><Ид>a</Ид><Количество>1</Количество></Предложение>" + offersTail
	t.Run("between elements", func(t *testing.T) {
		src := full[:strings.Index(full, "</Предложения>")]
		rec, _, err := parseString(t, "cut.xml", src)
		wantInputError(t, err, "cut.xml", "element <Предложения> is not closed", "не закрыт")
		if len(rec.offers) != 1 {
			t.Errorf("offers before the cut = %d, want 1", len(rec.offers))
		}
	})
	t.Run("inside a tag", func(t *testing.T) {
		src := full[:strings.Index(full, "<Количество>")+5]
		_, _, err := parseString(t, "cut.xml", src)
		wantInputError(t, err, "cut.xml", "unexpected end of file", "обрывается")
	})
	t.Run("empty", func(t *testing.T) {
		_, _, err := parseString(t, "empty.xml", "")
		wantInputError(t, err, "empty.xml", "empty", "пуст")
	})
}

func TestNamespacePrefix(t *testing.T) {
	src := `<?xml version="1.0" encoding="UTF-8"?>
<cml:КоммерческаяИнформация xmlns:cml="urn:1C.ru:commerceml_3" cml:ВерсияСхемы="3.1" ДатаФормирования="2024-03-01T10:00:00+05:00">
<cml:ПакетПредложений><cml:СодержитТолькоИзменения>true</cml:СодержитТолькоИзменения><cml:Ид>pk</cml:Ид>
<cml:Предложения><cml:Предложение><cml:Ид>p1</cml:Ид><cml:Цены><cml:Цена><cml:ИдТипаЦены>t1</cml:ИдТипаЦены><cml:ЦенаЗаЕдиницу>10.50</cml:ЦенаЗаЕдиницу></cml:Цена></cml:Цены></cml:Предложение></cml:Предложения>
</cml:ПакетПредложений></cml:КоммерческаяИнформация>`
	rec, doc, err := parseString(t, "ns.xml", src)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if doc.Kind != model.KindPrices || doc.SchemaVersion != "3.1" || !doc.ChangesOnly || doc.PackageID != "pk" {
		t.Errorf("document = %s", jsonString(doc))
	}
	if want := time.Date(2024, 3, 1, 5, 0, 0, 0, time.UTC); !doc.Generated.Equal(want) {
		t.Errorf("generated = %v, want %v", doc.Generated, want)
	}
	wantPrice(t, rec.offer(t, "p1"), "t1", "10.5", "", "")
}

func TestDecimalStockShapes(t *testing.T) {
	src := offersHead + `
<Предложение><Ид>a</Ид><Количество>1,5</Количество></Предложение>
<Предложение><Ид>b</Ид><Количество>7</Количество><Склад ИдСклада="w1" КоличествоНаСкладе="2.25"/><Склад ИдСклада="w2" КоличествоНаСкладе="4.75"/></Предложение>
<Предложение><Ид>c</Ид><Остатки><Остаток><Склад><Ид>w1</Ид><Количество>0.125</Количество></Склад></Остаток><Остаток><Склад><Ид>w2</Ид><Количество>1 000.5</Количество></Склад></Остаток></Остатки></Предложение>
<Предложение><Ид>d</Ид><Остатки><Остаток><Количество>12.5</Количество></Остаток></Остатки></Предложение>
` + offersTail
	rec, _, err := parseString(t, "stock.xml", src)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	a := rec.offer(t, "a")
	wantQuantity(t, a, "1.5")
	if len(a.Stocks) != 0 {
		t.Errorf("offer a stocks = %v", a.Stocks)
	}
	b := rec.offer(t, "b")
	wantQuantity(t, b, "7")
	wantStocks(t, b, 2, map[string]string{"w1": "2.25", "w2": "4.75"})
	c := rec.offer(t, "c")
	if c.Quantity != nil {
		t.Errorf("offer c quantity = %v, want nil", c.Quantity)
	}
	wantStocks(t, c, 2, map[string]string{"w1": "0.125", "w2": "1000.5"})
	d := rec.offer(t, "d")
	wantQuantity(t, d, "12.5")
}

func TestOfferIDForms(t *testing.T) {
	src := offersHead + `
<Предложение><Ид>prod</Ид></Предложение>
<Предложение><Ид>prod2#</Ид></Предложение>
<Предложение><Ид>prod3#char</Ид></Предложение>
<Предложение><Ид>prod4</Ид><ИдХарактеристики>char4</ИдХарактеристики></Предложение>
` + offersTail
	rec, doc, err := parseString(t, "ids.xml", src)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if doc.Kind != model.KindOffers {
		t.Errorf("kind = %q, want offers for offers without prices or stock", doc.Kind)
	}
	want := [][3]string{{"prod", "prod", ""}, {"prod2", "prod2", ""}, {"prod3#char", "prod3", "char"}, {"prod4#char4", "prod4", "char4"}}
	for i, w := range want {
		o := rec.offers[i]
		if o.SKU != w[0] || o.ProductID != w[1] || o.CharacteristicID != w[2] {
			t.Errorf("offer %d = %q/%q/%q, want %q", i, o.SKU, o.ProductID, o.CharacteristicID, w)
		}
	}
}

func TestBadNumber(t *testing.T) {
	cases := []struct{ name, offer, element string }{
		{"quantity", `<Предложение><Ид>p#c</Ид><Количество>12abc</Количество></Предложение>`, "Количество"},
		{"stock attribute", `<Предложение><Ид>p#c</Ид><Склад ИдСклада="w1" КоличествоНаСкладе="12abc"/></Предложение>`, "КоличествоНаСкладе"},
		{"price", `<Предложение><Ид>p#c</Ид><Цены><Цена><ИдТипаЦены>t</ИдТипаЦены><ЦенаЗаЕдиницу>12abc</ЦенаЗаЕдиницу></Цена></Цены></Предложение>`, "ЦенаЗаЕдиницу"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := parseString(t, "num.xml", offersHead+tc.offer+offersTail)
			ie := wantInputError(t, err, "num.xml", `"12abc"`, "«12abc»")
			for _, part := range []string{tc.element, "p#c"} {
				if !strings.Contains(ie.Error(), part) || !strings.Contains(ie.Ru, part) {
					t.Errorf("messages %q / %q do not name %q", ie.Error(), ie.Ru, part)
				}
			}
		})
	}
}

func TestDeletionForms(t *testing.T) {
	src := `<КоммерческаяИнформация ВерсияСхемы="2.05" ДатаФормирования="2024-03-01">
<Каталог><Ид>cat</Ид><Товары>
<Товар><Ид>p1</Ид><ПометкаУдаления>true</ПометкаУдаления></Товар>
<Товар Статус="Удален"><Ид>p2</Ид></Товар>
<Товар><Ид>p3</Ид><Статус>Удален</Статус><Штрихкод>1</Штрихкод><Штрихкод>2</Штрихкод><Артикул>A-3</Артикул></Товар>
<Товар><Ид>p4</Ид><ПометкаУдаления>false</ПометкаУдаления><Группы><Ид>g</Ид></Группы></Товар>
</Товары></Каталог></КоммерческаяИнформация>`
	rec, doc, err := parseString(t, "import.xml", src)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if doc.Kind != model.KindCatalog || doc.CatalogID != "cat" {
		t.Errorf("document = %s", jsonString(doc))
	}
	if want := time.Date(2024, 3, 1, 0, 0, 0, 0, moscow()); !doc.Generated.Equal(want) {
		t.Errorf("generated = %v, want %v", doc.Generated, want)
	}
	for id, deleted := range map[string]bool{"p1": true, "p2": true, "p3": true, "p4": false} {
		if p := rec.product(t, id); p.Deleted != deleted || p.CatalogID != "cat" {
			t.Errorf("product %s = %s, want deleted %v", id, jsonString(p), deleted)
		}
	}
	if p := rec.product(t, "p3"); len(p.Barcodes) != 2 || p.Article != "A-3" {
		t.Errorf("product p3 = %s", jsonString(p))
	}
}

func TestDocumentWithoutGoods(t *testing.T) {
	src := offersHead + offersTail
	rec, doc, err := parseString(t, "empty-offers.xml", src)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(rec.docs) != 1 || doc.Kind != model.KindOffers || doc.PackageID != "cat#" {
		t.Errorf("documents = %s", jsonString(rec.docs))
	}
}

func TestUTF8BOMAndCDATA(t *testing.T) {
	src := "\xEF\xBB\xBF" + offersHead + `<Предложение><Ид><![CDATA[a<b]]></Ид></Предложение>` + offersTail
	rec, _, err := parseString(t, "bom.xml", src)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	rec.offer(t, "a<b")
}

func TestHandlerErrorStopsParse(t *testing.T) {
	src := offersHead + `<Предложение><Ид>a</Ид></Предложение><Предложение><Ид>b</Ид></Предложение>` + offersTail
	stop := &stopAfter{n: 1}
	_, err := Parse(bytes.NewReader([]byte(src)), "x.xml", Options{}, stop)
	if err != errStop || stop.offers != 1 {
		t.Errorf("err = %v after %d offers, want errStop after 1", err, stop.offers)
	}
}

var errStop = errors.New("handler stop")

type stopAfter struct{ n, offers int }

func (s *stopAfter) Document(*model.Document) error { return nil }
func (s *stopAfter) Product(*model.Product) error   { return nil }
func (s *stopAfter) Offer(*model.Offer) error {
	s.offers++
	if s.offers >= s.n {
		return errStop
	}
	return nil
}
