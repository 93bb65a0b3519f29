package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/engine"
	"github.com/healthsync/healthsync/sync/store/bolt"
)

// pages is a Source that yields n pages of 100 customers.
type pages int

func (n pages) Pull(ctx context.Context, req record.PullRequest) iter.Seq2[*record.Batch, error] {
	return func(yield func(*record.Batch, error) bool) {
		for p := range int(n) {
			b := &record.Batch{Stream: "customers", Full: true, Done: p == int(n)-1}
			for i := range 100 {
				b.Customers = append(b.Customers, record.Customer{Ref: record.Ref{System: "stripe", ID: fmt.Sprintf("cus_%d_%d", p, i)}})
			}
			if !yield(b, nil) {
				return
			}
		}
	}
}

// TestPullLogsProgress: a pull whose pages arrive 20 s apart (on the
// engine's clock) logs its progress every 30 s, then a summary with its
// duration in milliseconds; no line repeats a key.
func TestPullLogsProgress(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "p.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	calls := 0
	now := func() time.Time { calls++; return t0.Add(time.Duration(calls-1) * 20 * time.Second) }
	var logs bytes.Buffer
	cfg := &config.Config{}
	cc := config.Connector{Name: "billing", Kind: config.KindStripe}
	eng, err := engine.New(engine.Options{Config: cfg, Store: st, Now: now, Logger: zerolog.New(&logs),
		Connectors: []*engine.Connector{{Config: cc, Source: pages(5)}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Pull(context.Background(), "billing", false); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	dec := json.NewDecoder(&logs)
	for dec.More() {
		var line map[string]any
		if err := dec.Decode(&line); err != nil {
			t.Fatal(err)
		}
		delete(line, "run")
		if m := line["message"]; m == "pull progress" || m == "pull finished" {
			got = append(got, line)
		}
	}
	// Clock reads: start 0 s, then one per page: 20, 40, 60, 80, 100 s.
	want := []map[string]any{
		{"level": "info", "connector": "billing", "records": 200.0, "pages": 2.0, "records_per_s": 5.0, "took_ms": 40000.0, "message": "pull progress"},
		{"level": "info", "connector": "billing", "records": 400.0, "pages": 4.0, "records_per_s": 5.0, "took_ms": 80000.0, "message": "pull progress"},
	}
	if len(got) != 3 || !reflect.DeepEqual(got[:2], want) {
		t.Fatalf("progress lines\n got %v\nwant %v", got, want)
	}
	if fin := got[2]; fin["took_ms"] == nil || fin["took"] != nil {
		t.Errorf("pull finished: %v, want took_ms", fin)
	}
	for _, line := range bytes.Split(bytes.TrimSpace(logs.Bytes()), []byte("\n")) {
		if k := duplicateKey(line); k != "" {
			t.Errorf("key %q twice in %s", k, line)
		}
	}
}

// duplicateKey returns a top-level key that appears twice in a JSON object.
func duplicateKey(line []byte) string {
	dec := json.NewDecoder(bytes.NewReader(line))
	if _, err := dec.Token(); err != nil {
		return ""
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		k, _ := tok.(string)
		if seen[k] {
			return k
		}
		seen[k] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return ""
		}
	}
	return ""
}
