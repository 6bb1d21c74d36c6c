package generic

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/tidwall/gjson"

	"obmenhub/retry"
)

// itemKey identifies an item of a request.
type itemKey struct {
	SKU        string
	ExternalID string
}

// ItemError is an item that the channel's response names as failed.
type ItemError struct {
	Channel string
	SKU     string
	// ID is the id the response named the item by, or empty when the
	// failure named no item and applies to the whole request.
	ID      string
	Code    string
	Message string
	BatchID string
}

func (e *ItemError) Error() string {
	what := fmt.Sprintf("SKU %s", e.SKU)
	if e.ID == "" {
		what += " (failure without an item id, applied to the whole request)"
	}
	msg := e.Message
	if e.Code != "" {
		msg = e.Code + ": " + msg
	}
	if msg == "" {
		msg = "no reason given"
	}
	return fmt.Sprintf("%s rejected %s in batch %s: %s", e.Channel, what, e.BatchID, msg)
}

// itemErrors reads the failures that response.item_errors points at and
// returns their errors by item index. An response that is not JSON is
// logged and counts as no failures, because the status already reported the
// request was taken.
func (a *Adapter) itemErrors(body []byte, batchID string, keys []itemKey, indexes []int) map[int]error {
	rule := a.cfg.Response.ItemErrors
	if rule == nil || len(body) == 0 {
		return nil
	}
	if !gjson.ValidBytes(body) {
		a.log.Warn("response is not JSON, so response.item_errors cannot be read; treating every item as accepted",
			slog.String("batch_id", batchID), slog.String("body", snippet(body)))
		return nil
	}

	found := gjson.GetBytes(body, rule.Path)
	var failures []gjson.Result
	switch {
	case !found.Exists() || found.Type == gjson.Null:
		return nil
	case found.IsArray():
		failures = found.Array()
	case found.IsObject():
		failures = []gjson.Result{found}
	default:
		a.log.Warn("response.item_errors.path leads to neither a list nor an object; ignoring it",
			slog.String("path", rule.Path), slog.String("batch_id", batchID), slog.String("value", snippet([]byte(found.Raw))))
		return nil
	}

	byID := make(map[string][]int, len(indexes))
	for _, i := range indexes {
		id := keys[i].ExternalID
		if rule.Match == MatchSKU {
			id = keys[i].SKU
		}
		byID[id] = append(byID[id], i)
	}

	itemErrs := map[int]error{}
	for _, f := range failures {
		id := f.Get(rule.IDField).String()
		code := ""
		if rule.CodeField != "" {
			code = f.Get(rule.CodeField).String()
		}
		message := ""
		if rule.MessageField != "" {
			message = f.Get(rule.MessageField).String()
		}

		matched := indexes
		if id != "" {
			matched = byID[id]
		}
		if len(matched) == 0 {
			a.log.Warn("response names a failed item that is not in the request; ignoring it",
				slog.String("batch_id", batchID), slog.String("id", id), slog.String("code", code), slog.String("message", message))
			continue
		}
		for _, i := range matched {
			err := a.classify(&ItemError{Channel: a.opts.Channel, SKU: keys[i].SKU, ID: id, Code: code, Message: message, BatchID: batchID}, code)
			// Classify finds ErrPermanent inside a join, so an item with any
			// permanent failure is permanent.
			itemErrs[i] = errors.Join(itemErrs[i], err)
			a.logItemError(keys[i], batchID, err)
		}
	}
	return itemErrs
}

func (a *Adapter) classify(err *ItemError, code string) error {
	rule := a.cfg.Response.ItemErrors
	if rule.Class == ClassRetriable || (code != "" && slices.Contains(rule.RetriableCodes, code)) {
		return retry.Retriable(err)
	}
	return retry.Permanent(err)
}
