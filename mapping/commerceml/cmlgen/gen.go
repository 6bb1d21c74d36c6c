// Package cmlgen generates synthetic CommerceML packages for benchmarks and
// load tests.
package cmlgen

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
)

// Price type ids of generated packages.
const (
	RetailPriceType    = "bd72d8fc-55bc-11d9-848a-00112f43529a"
	WholesalePriceType = "bd72d8fd-55bc-11d9-848a-00112f43529a"
)

// WarehouseID returns the 1C id of generated warehouse i (from 0).
func WarehouseID(i int) string { return fmt.Sprintf("b6112590-41ba-11dd-ac9d-%012d", i) }

// OfferID returns the 1C id of generated offer i (from 0): every second
// offer has a characteristic ("product#characteristic"), the others are
// plain product ids.
func OfferID(i int) string {
	product := fmt.Sprintf("05e26d70-01e4-11dc-a411-%012d", i/2)
	if i%2 == 1 {
		return product + "#" + fmt.Sprintf("218a1598-044b-11dc-a414-%012d", i)
	}
	return product
}

// GenerateOffers writes a full (not changes-only) CommerceML 2.07 offers
// package with the given numbers of offers and warehouses. Each offer has
// two prices (retail and wholesale), a Количество and one
// <Склад ИдСклада КоличествоНаСкладе/> element per warehouse, whose
// quantities add up to Количество. The output is deterministic: the same
// arguments give the same bytes. 200,000 offers with 5 warehouses make
// about 250 MB.
func GenerateOffers(w io.Writer, offers, warehouses int) error {
	if offers < 0 || warehouses < 0 {
		return errors.New("cmlgen: offers and warehouses must not be negative")
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	rng := rand.New(rand.NewPCG(1, 2))

	bw.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_2" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ВерсияСхемы="2.07" ДатаФормирования="2024-03-01T10:00:00">
	<ПакетПредложений СодержитТолькоИзменения="false">
		<Ид>bd72d8f9-55bc-11d9-848a-00112f43529a#</Ид>
		<Наименование>Пакет предложений (Основной каталог товаров)</Наименование>
		<ИдКаталога>bd72d8f9-55bc-11d9-848a-00112f43529a</ИдКаталога>
		<ИдКлассификатора>bd72d8f9-55bc-11d9-848a-00112f43529a</ИдКлассификатора>
		<Владелец>
			<Ид>bd72d900-55bc-11d9-848a-00112f43529a</Ид>
			<Наименование>Торговый дом "Комплексный"</Наименование>
			<ОфициальноеНаименование>ООО "Торговый дом "Комплексный"</ОфициальноеНаименование>
			<ИНН>7705123456</ИНН>
		</Владелец>
		<ТипыЦен>
			<ТипЦены>
				<Ид>` + RetailPriceType + `</Ид>
				<Наименование>Розничная</Наименование>
				<Валюта>RUB</Валюта>
				<Налог>
					<Наименование>НДС</Наименование>
					<УчтеноВСумме>true</УчтеноВСумме>
				</Налог>
			</ТипЦены>
			<ТипЦены>
				<Ид>` + WholesalePriceType + `</Ид>
				<Наименование>Оптовая</Наименование>
				<Валюта>RUB</Валюта>
				<Налог>
					<Наименование>НДС</Наименование>
					<УчтеноВСумме>true</УчтеноВСумме>
				</Налог>
			</ТипЦены>
		</ТипыЦен>
		<Склады>
`)
	for i := range warehouses {
		fmt.Fprintf(bw, "\t\t\t<Склад>\n\t\t\t\t<Ид>%s</Ид>\n\t\t\t\t<Наименование>Склад №%d</Наименование>\n\t\t\t</Склад>\n", WarehouseID(i), i+1)
	}
	bw.WriteString("\t\t</Склады>\n\t\t<Предложения>\n")

	whIDs := make([]string, warehouses)
	for i := range whIDs {
		whIDs[i] = WarehouseID(i)
	}
	var buf []byte
	for i := range offers {
		buf = appendOffer(buf[:0], rng, i, whIDs)
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	bw.WriteString("\t\t</Предложения>\n\t</ПакетПредложений>\n</КоммерческаяИнформация>\n")
	return bw.Flush()
}

func appendOffer(b []byte, rng *rand.Rand, i int, warehouses []string) []byte {
	retail := 100 + rng.IntN(99900)
	wholesale := retail * 85 / 100
	b = append(b, "\t\t\t<Предложение>\n\t\t\t\t<Ид>"...)
	b = append(b, OfferID(i)...)
	b = append(b, "</Ид>\n\t\t\t\t<Штрихкод>46"...)
	b = strconv.AppendInt(b, 10000000000+int64(i), 10)
	b = append(b, "</Штрихкод>\n\t\t\t\t<Артикул>АРТ-"...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, "</Артикул>\n\t\t\t\t<Наименование>Товар тестовый №"...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, ", размер "...)
	b = strconv.AppendInt(b, int64(36+i%12), 10)
	b = append(b, "</Наименование>\n"...)
	b = append(b, "\t\t\t\t<Цены>\n"...)
	b = appendPrice(b, RetailPriceType, retail)
	b = appendPrice(b, WholesalePriceType, wholesale)
	b = append(b, "\t\t\t\t</Цены>\n"...)

	total := 0
	quantities := make([]int, len(warehouses))
	for k := range quantities {
		quantities[k] = rng.IntN(50)
		total += quantities[k]
	}
	b = append(b, "\t\t\t\t<Количество>"...)
	b = strconv.AppendInt(b, int64(total), 10)
	b = append(b, "</Количество>\n"...)
	for k, id := range warehouses {
		b = append(b, "\t\t\t\t<Склад ИдСклада=\""...)
		b = append(b, id...)
		b = append(b, "\" КоличествоНаСкладе=\""...)
		b = strconv.AppendInt(b, int64(quantities[k]), 10)
		b = append(b, "\"/>\n"...)
	}
	return append(b, "\t\t\t</Предложение>\n"...)
}

// appendPrice writes one Цена of kopecks as rubles with two decimals.
func appendPrice(b []byte, priceType string, kopecks int) []byte {
	rub := strconv.Itoa(kopecks/100) + "." + fmt.Sprintf("%02d", kopecks%100)
	b = append(b, "\t\t\t\t\t<Цена>\n\t\t\t\t\t\t<ИдТипаЦены>"...)
	b = append(b, priceType...)
	b = append(b, "</ИдТипаЦены>\n\t\t\t\t\t\t<ЦенаЗаЕдиницу>"...)
	b = append(b, rub...)
	b = append(b, "</ЦенаЗаЕдиницу>\n\t\t\t\t\t\t<Валюта>RUB</Валюта>\n\t\t\t\t\t\t<Единица>шт</Единица>\n\t\t\t\t\t</Цена>\n"...)
	return b
}
