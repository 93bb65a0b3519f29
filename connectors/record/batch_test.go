package record

import "testing"

func TestBatchLen(t *testing.T) {
	b := Batch{Accounts: make([]Account, 1), Invoices: make([]Invoice, 2), Signals: make([]Signal, 3), Deleted: make([]Ref, 4)}
	if got := b.Len(); got != 10 {
		t.Fatalf("Len = %d, want 10", got)
	}
}
