package commerceml

import (
	"errors"
	"fmt"

	"obmenhub/hub/model"
)

// Position is a place in the parsed text: Line counts from 1 and Offset is
// the byte offset from the start of the file. For a file that is not UTF-8,
// Offset counts bytes of the text after conversion to UTF-8.
type Position struct {
	Line   int
	Offset int64
}

func (p Position) String() string { return fmt.Sprintf("line %d, byte offset %d", p.Line, p.Offset) }

// SyntaxError is the cause (model.InputError.Err) of a rejected file that is
// not well-formed XML.
type SyntaxError struct {
	Pos Position
	Msg string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("malformed XML at %s: %s", e.Pos, e.Msg) }

// ErrNotExchangePackage is the cause of a rejected well-formed file that is
// not a catalogue or offers package: an orders file, an XSD, another XML.
var ErrNotExchangePackage = errors.New("not a CommerceML catalogue or offers package")

func inputError(file, ru string, err error) *model.InputError {
	return &model.InputError{File: file, Ru: ru, Err: err}
}

func syntaxError(file string, pos Position, msg string) *model.InputError {
	return inputError(file,
		fmt.Sprintf("Файл %s повреждён: ошибка XML в строке %d (%s). Выгрузите файл из 1С заново.", file, pos.Line, msg),
		&SyntaxError{Pos: pos, Msg: msg})
}

func truncatedError(file string, pos Position, open string) *model.InputError {
	msg := "unexpected end of file inside markup"
	ru := fmt.Sprintf("Файл %s обрывается в строке %d посреди тега: вероятно, он загружен не полностью. Выгрузите файл из 1С и загрузите его заново.", file, pos.Line)
	if open != "" {
		msg = fmt.Sprintf("unexpected end of file: element <%s> is not closed", open)
		ru = fmt.Sprintf("Файл %s обрывается в строке %d: элемент <%s> не закрыт, вероятно, файл загружен не полностью. Выгрузите файл из 1С и загрузите его заново.", file, pos.Line, open)
	}
	return inputError(file, ru, &SyntaxError{Pos: pos, Msg: msg})
}

func emptyFileError(file string) *model.InputError {
	return inputError(file,
		fmt.Sprintf("Файл %s пуст или не содержит XML. Выгрузите import.xml или offers.xml из 1С заново.", file),
		fmt.Errorf("%w: file is empty or has no root element", ErrNotExchangePackage))
}

func unknownEncodingError(file, name string) *model.InputError {
	return inputError(file,
		fmt.Sprintf("Файл %s записан в кодировке «%s», которую хаб не поддерживает. Сохраните файл в кодировке UTF-8 или windows-1251 и загрузите заново.", file, name),
		fmt.Errorf("unsupported encoding %q declared in the XML prolog; save the file as UTF-8 or windows-1251", name))
}

func documentsError(file, element string) *model.InputError {
	return inputError(file,
		fmt.Sprintf("Файл %s — документ заказов, а не пакет каталога или предложений. Загрузите import.xml или offers.xml.", file),
		fmt.Errorf("%w: orders/documents file (<%s> under the root); load import.xml or offers.xml", ErrNotExchangePackage, element))
}

func schemaFileError(file string) *model.InputError {
	return inputError(file,
		fmt.Sprintf("Файл %s — схема XML (XSD), а не пакет обмена. Загрузите import.xml или offers.xml, выгруженные из 1С.", file),
		fmt.Errorf("%w: file is an XML Schema (xs:schema root)", ErrNotExchangePackage))
}

func foreignRootError(file, root string) *model.InputError {
	return inputError(file,
		fmt.Sprintf("Файл %s не является пакетом обмена CommerceML: корневой элемент <%s> вместо <КоммерческаяИнформация>. Загрузите import.xml или offers.xml из 1С.", file, root),
		fmt.Errorf("%w: root element <%s>, expected <КоммерческаяИнформация>", ErrNotExchangePackage, root))
}

func noPackageError(file string) *model.InputError {
	return inputError(file,
		fmt.Sprintf("Файл %s не содержит ни каталога (Классификатор, Каталог), ни пакета предложений (ПакетПредложений). Выгрузите import.xml или offers.xml из 1С заново.", file),
		fmt.Errorf("%w: no Классификатор, Каталог or ПакетПредложений under the root", ErrNotExchangePackage))
}

// valueError reports an invalid value of element (or attribute) in the
// record with 1C id owner, for example a quantity that is not a number.
func valueError(file string, pos Position, element, ownerKind, owner, value string, cause error) *model.InputError {
	ownerRu := map[string]string{"offer": "предложения", "product": "товара"}[ownerKind]
	if owner == "" {
		owner = "(Ид ещё не прочитан)"
	}
	return inputError(file,
		fmt.Sprintf("Файл %s, строка %d: в элементе <%s> %s %s недопустимое значение «%s». Исправьте значение в 1С и выгрузите файл заново.", file, pos.Line, element, ownerRu, owner, value),
		fmt.Errorf("invalid value %q of <%s> in %s %q at %s: %w", value, element, ownerKind, owner, pos, cause))
}

func missingIDError(file string, pos Position, element string) *model.InputError {
	return inputError(file,
		fmt.Sprintf("Файл %s, строка %d: у элемента <%s> нет идентификатора <Ид>. Выгрузите файл из 1С заново.", file, pos.Line, element),
		fmt.Errorf("<%s> without <Ид> at %s", element, pos))
}

func dateError(file string, pos Position, value string, cause error) *model.InputError {
	return inputError(file,
		fmt.Sprintf("Файл %s, строка %d: дата формирования «%s» не распознана (ожидается вид 2024-03-01T10:00:00). Выгрузите файл из 1С заново.", file, pos.Line, value),
		fmt.Errorf("invalid ДатаФормирования %q at %s: %w", value, pos, cause))
}
