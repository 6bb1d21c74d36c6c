// Package commerceml parses 1C:Enterprise CommerceML exchange packages
// (import.xml, offers.xml, prices.xml, rests.xml; schema versions 2.03–2.10
// and 3.x) into the canonical records of obmenhub/hub/model.
//
// The parser streams: it keeps one product or offer at a time and reuses its
// buffers, so memory does not grow with the size of the file. It recognises a
// document by its content, never by its file name, and matches elements by
// local name, so any namespace (urn:1C.ru:commerceml_2, _3, _208, none or a
// prefix) is accepted.
package commerceml
