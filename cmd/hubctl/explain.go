package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"obmenhub/hub/alloc"
)

func init() {
	commands["explain"] = command{
		summary: "show how a running hub arrives at each channel's number for a SKU",
		run:     runExplain,
	}
}

func runExplain(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	hub := fs.String("hub", "http://127.0.0.1:8080", "base URL of the hub's API")
	asJSON := fs.Bool("json", false, "print the API's JSON instead of text")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: hubctl explain [options] SKU\n\nOptions:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return errExit
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errExit
	}
	u := *hub + "/api/v1/skus/" + url.PathEscape(fs.Arg(0)) + "/explain"
	resp, err := (&http.Client{Timeout: time.Minute}).Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("read response of %s: %w", u, err)
	}
	var body struct {
		Error    string `json:"error"`
		SKU      string `json:"sku"`
		Deleted  bool   `json:"deleted"`
		Reserved int64  `json:"reserved"`
		Levels   []struct {
			Warehouse string          `json:"warehouse"`
			Quantity  json.RawMessage `json:"quantity"`
		} `json:"levels"`
		Reservations []struct {
			Channel   string `json:"channel"`
			OrderID   string `json:"order_id"`
			ExpiresAt string `json:"expires_at"`
			Lines     []struct {
				SKU string `json:"sku"`
				Qty int64  `json:"qty"`
			} `json:"lines"`
		} `json:"reservations"`
		Virtual  []alloc.Explanation `json:"virtual_warehouses"`
		Channels []struct {
			Channel    string `json:"channel"`
			Kind       string `json:"kind"`
			Source     string `json:"source"`
			ExternalID string `json:"external_id"`
			LastError  string `json:"last_error"`
			Desired    *int64 `json:"desired"`
			Confirmed  *int64 `json:"confirmed"`
		} `json:"channels"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		return fmt.Errorf("read response of %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("hub returned HTTP %d: %s", resp.StatusCode, body.Error)
	}
	if *asJSON {
		_, err := stdout.Write(raw)
		return err
	}
	fmt.Fprintf(stdout, "SKU %s (deleted: %t)\n1C stock:\n", body.SKU, body.Deleted)
	for _, l := range body.Levels {
		name := l.Warehouse
		if name == "" {
			name = `"" (Количество without warehouse)`
		}
		fmt.Fprintf(stdout, "  %s: %s\n", name, l.Quantity)
	}
	fmt.Fprintf(stdout, "reserved: %d\n", body.Reserved)
	for _, r := range body.Reservations {
		for _, l := range r.Lines {
			if l.SKU == body.SKU {
				expires := r.ExpiresAt
				if expires == "" {
					expires = "never"
				}
				fmt.Fprintf(stdout, "  %s order %s: %d (expires %s)\n", r.Channel, r.OrderID, l.Qty, expires)
			}
		}
	}
	for _, v := range body.Virtual {
		fmt.Fprintf(stdout, "virtual warehouse %s:\n%s\n", v.Warehouse, v.String())
	}
	fmt.Fprintln(stdout, "channels:")
	for _, ch := range body.Channels {
		fmt.Fprintf(stdout, "  %s (%s, from %s, id %q): desired %s, confirmed %s", ch.Channel, ch.Kind, ch.Source, ch.ExternalID, num(ch.Desired), num(ch.Confirmed))
		if ch.LastError != "" {
			fmt.Fprintf(stdout, ", last error: %s", ch.LastError)
		}
		fmt.Fprintln(stdout)
	}
	return nil
}

func num(p *int64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprint(*p)
}
