package webstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"

	"obmenhub/retry"
)

// itemKey identifies an item in a batch and in the store's response.
type itemKey struct {
	SKU        string
	ExternalID string
}

// rejectedItem is one entry of the "rejected" list of a 2xx response.
type rejectedItem struct {
	SKU        string `json:"sku"`
	ExternalID string `json:"external_id"`
	Error      string `json:"error"`
	Retriable  bool   `json:"retriable"`
}

// RejectedError is an item that the store rejected in a 2xx response.
type RejectedError struct {
	Channel    string
	SKU        string
	DeliveryID string
	Message    string
}

func (e *RejectedError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = "no reason given"
	}
	return fmt.Sprintf("%s rejected SKU %s in delivery %s: %s", e.Channel, e.SKU, e.DeliveryID, msg)
}

// applyRejected reads a 2xx response and returns the errors of the rejected
// items by index. A body that is empty or not a JSON object means every
// item was accepted. Entries that name no item of the batch are logged
// and ignored.
func (a *Adapter) applyRejected(body []byte, deliveryID string, keys []itemKey, indexes []int) map[int]error {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil
	}
	var answer struct {
		Rejected []rejectedItem `json:"rejected"`
	}
	if err := json.Unmarshal(trimmed, &answer); err != nil {
		// The store took the request, so a response body it cannot parse is no
		// reason to send the items again.
		a.cfg.Logger.Warn("store response is not the documented JSON; treating every item as accepted",
			slog.String("channel", a.cfg.Channel), slog.String("delivery_id", deliveryID), slog.Any("error", err))
		return nil
	}
	if len(answer.Rejected) == 0 {
		return nil
	}

	bySKU := make(map[string][]int, len(indexes))
	byExternalID := make(map[string][]int, len(indexes))
	for _, i := range indexes {
		bySKU[keys[i].SKU] = append(bySKU[keys[i].SKU], i)
		if keys[i].ExternalID != "" {
			byExternalID[keys[i].ExternalID] = append(byExternalID[keys[i].ExternalID], i)
		}
	}

	itemErrs := map[int]error{}
	for _, r := range answer.Rejected {
		matched := bySKU[r.SKU]
		if r.SKU == "" {
			matched = byExternalID[r.ExternalID]
		}
		if len(matched) == 0 {
			a.cfg.Logger.Warn("store rejected an item that is not in the delivery; ignoring the entry",
				slog.String("channel", a.cfg.Channel), slog.String("delivery_id", deliveryID),
				slog.String("sku", r.SKU), slog.String("external_id", r.ExternalID), slog.String("message", r.Error))
			continue
		}
		for _, i := range matched {
			var err error = &RejectedError{Channel: a.cfg.Channel, SKU: keys[i].SKU, DeliveryID: deliveryID, Message: r.Error}
			if r.Retriable {
				err = retry.Retriable(err)
			} else {
				err = retry.Permanent(err)
			}
			itemErrs[i] = err
			a.logItemError(keys[i], deliveryID, err)
		}
	}
	return itemErrs
}
