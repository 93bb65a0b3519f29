package main

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/scoring"
	"github.com/healthsync/healthsync/sync/engine"
)

// streamCase covers what encoding/json does that printJSON writes itself.
type streamCase struct {
	Name      string            `json:"name"`
	Plain     int               // no tag: the Go name
	Skipped   string            `json:"-"`
	private   string            // unexported: never written
	Empty     []string          `json:"empty"`
	Nil       []string          `json:"nil"`
	OmitE     []string          `json:"omit_e,omitempty"`
	OmitZ     time.Time         `json:"omit_z,omitzero"`
	OmitZSet  time.Time         `json:"omit_z_set,omitzero"`
	OmitNum   float64           `json:"omit_num,omitempty"`
	Ptr       *streamInner      `json:"ptr"`
	NilPtr    *streamInner      `json:"nil_ptr"`
	Iface     any               `json:"iface"`
	NilIface  any               `json:"nil_iface"`
	Map       map[string]any    `json:"map"`
	EmptyMap  map[string]string `json:"empty_map"`
	Bytes     []byte            `json:"bytes"`
	Array     [2]streamInner    `json:"array"`
	Dur       config.Duration   `json:"dur"`
	HTML      string            `json:"html"`
	Nested    [][]int           `json:"nested"`
	EmptyObj  struct{}          `json:"empty_obj"`
	AllOmit   streamAllOmitted  `json:"all_omit"`
	Embedding streamEmbedding   `json:"embedding"`
	AsString  streamAsString    `json:"as_string"`
	Raw       json.RawMessage   `json:"raw"`
}

type streamInner struct {
	A string   `json:"a"`
	B []string `json:"b,omitempty"`
}

type streamAllOmitted struct {
	X string `json:"x,omitempty"`
}

type streamEmbedding struct {
	streamInner
	C int `json:"c"`
}

type streamAsString struct {
	N int `json:"n,string"`
}

// TestPrintJSONIsTheEncodersText: printJSON writes exactly what
// json.Encoder with a two-space indent writes, for a value that exercises
// every rule it applies itself and for a sync report with a plan.
func TestPrintJSONIsTheEncodersText(t *testing.T) {
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	v := &streamCase{Name: "n", Plain: 3, Skipped: "s", private: "p", Empty: []string{}, OmitZSet: at,
		Ptr: &streamInner{A: "a", B: []string{"x", "y"}}, Iface: []any{1, "two", map[string]int{"b": 2, "a": 1}},
		Map: map[string]any{"z": 1, "a": []int{1, 2}, "m": map[string]any{}}, EmptyMap: map[string]string{},
		Bytes: []byte("hello"), Array: [2]streamInner{{A: "1"}, {A: "2", B: []string{"q"}}}, Dur: config.Duration(90 * time.Second),
		HTML: "<a href=\"x\">&</a>", Nested: [][]int{{1}, {}, nil}, Embedding: streamEmbedding{streamInner{A: "e"}, 4},
		AsString: streamAsString{7}, Raw: json.RawMessage(`{"k": [1, 2]}`), OmitNum: math.Pi}
	rep := &engine.SyncReport{RunID: "r1", Start: at, Duration: 1500 * time.Millisecond,
		Pulls: []*engine.PullReport{{Connector: "crm"}},
		Plan: &engine.Plan{AsOf: at, Calls: map[string]int{"crm": 2},
			Writes: []engine.RecordWrite{{Connector: "crm", Object: "Account", ID: "001", Account: "salesforce/001", Name: "Acme",
				Changes: []engine.FieldChange{{Key: "health_score", Field: "Health_Score__c", Old: nil, New: 81.5},
					{Key: "band", Field: "Health_Band__c", Old: "caution", New: "healthy"}}}},
			Creates: []engine.TaskCreate{{Connector: "crm", Account: "salesforce/001", Name: "Acme",
				Intent: scoring.TaskIntent{Rule: "r", Subject: "Call", Due: at}}},
			Closes: []engine.TaskClose{}},
		Write:         &engine.WriteReport{Planned: 1, Written: 1, ByConnector: map[string]int{"crm": 1}},
		RescoreReason: "first sync", DataQuality: []string{"line <1>"}}
	for name, v := range map[string]any{"cases": v, "report": rep, "nil": nil, "list": []int{1, 2}, "empty plan": &engine.Plan{}} {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if err := printJSON(&got, v); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("%s: printJSON wrote\n%s\nencoding/json writes\n%s", name, got.String(), want.String())
		}
	}
}
