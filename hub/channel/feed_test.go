package channel

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestFeedPagesAndResumes(t *testing.T) {
	s := newStore(t)
	base := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, sku := range []string{"A", "B", "C"} {
		putStock(t, s, base, sku, "w1", "3")
	}
	b, _ := NewBinder(BindingConfig{})
	f := &Feed{Channel: "store", Binder: b}
	ctx := context.Background()

	first, err := f.Page(ctx, s, "", 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Items) != 2 || !first.More || first.Items[0].SKU != "A" || first.Items[0].Quantity != 3 {
		t.Fatalf("first page = %+v, want A and B with more to come", first)
	}
	second, err := f.Page(ctx, s, first.Next, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(second.Items) != 1 || second.Items[0].SKU != "C" || second.More {
		t.Fatalf("second page = %+v, want only C", second)
	}
	empty, err := f.Page(ctx, s, second.Next, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(empty.Items) != 0 || empty.Next != second.Next {
		t.Errorf("poll with nothing new = %+v, want no items and the same cursor", empty)
	}

	putStock(t, s, base.Add(time.Minute), "A", "w1", "9")
	update, err := f.Page(ctx, s, second.Next, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(update.Items) != 1 || update.Items[0].SKU != "A" || update.Items[0].Quantity != 9 {
		t.Errorf("poll after a change = %+v, want A with 9", update)
	}
}

func TestFeedRejectsForeignCursor(t *testing.T) {
	s := newStore(t)
	b, _ := NewBinder(BindingConfig{})
	f := &Feed{Channel: "store", Binder: b}
	for _, c := range []string{"not-base64!", "bm9zZXE"} {
		if _, err := f.Page(context.Background(), s, c, 10); !errors.Is(err, ErrBadCursor) {
			t.Errorf("Page(%q) error = %v, want ErrBadCursor", c, err)
		}
	}
}
