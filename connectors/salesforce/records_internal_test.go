package salesforce

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestRowsDecodeAsEncodingJSON: a query page split into rows gives every
// field, relationship paths included, the value encoding/json gives it
// decoded into a map (what the rows replaced): escapes, non-ASCII text,
// numbers in every form, null, booleans, nested records and arrays.
func TestRowsDecodeAsEncodingJSON(t *testing.T) {
	page := []byte(`{"totalSize":3,"done":true,"records":[
	 {"attributes":{"type":"Account","url":"/services/data/v60.0/sobjects/Account/001A"},"Id":"001A","Name":"Caf\u00e9 \"Quoted\" \\ back",
	  "Owner":{"attributes":{"type":"User"},"Name":"Ann {brace} [x]"},"NPS__c":-1.5e2,"MRR__c":990,"Flag__c":true,"Off__c":false,
	  "Empty__c":null,"Text__c":"東京","Tab__c":"a\tb\n","List__c":[1,"two",{"three":3}], "Spaced__c" : 7 },
	 {"Id":"001B","Owner":null,"Name":"","Health_Score__c":72.0,"SystemModstamp":"2026-12-06T09:00:00.000+0000"},
	 {"Id":"001C","we\u0069rd":"key"}
	]}`)
	var got queryResult
	if err := json.Unmarshal(page, &got); err != nil {
		t.Fatal(err)
	}
	var want struct {
		Records []map[string]any `json:"records"`
	}
	if err := json.Unmarshal(page, &want); err != nil {
		t.Fatal(err)
	}
	if len(got.Records) != len(want.Records) || !got.Done || got.TotalSize != 3 {
		t.Fatalf("%d records (done %v, total %d), want %d", len(got.Records), got.Done, got.TotalSize, len(want.Records))
	}
	for i, m := range want.Records {
		r, err := decodeRow(got.Records[i])
		if err != nil {
			t.Fatal(err)
		}
		if len(r) != len(m) {
			t.Errorf("record %d: %d fields, want %d", i, len(r), len(m))
		}
		for k, v := range m {
			if g := r.path(k); !reflect.DeepEqual(g, v) {
				t.Errorf("record %d field %s: %#v, want %#v", i, k, g, v)
			}
		}
		owner, _ := m["Owner"].(map[string]any)
		if g, w := r.path("Owner.Name"), owner["Name"]; !reflect.DeepEqual(g, w) {
			t.Errorf("record %d Owner.Name: %#v, want %#v", i, g, w)
		}
	}
	if _, err := decodeRow(row{{name: []byte("Name"), raw: []byte(`"x"`)}}); err == nil {
		t.Error("a record without Id decoded")
	}
	for _, bad := range []string{`{"records":{"Id":"1"}}`, `{"records":[1]}`} {
		if err := json.Unmarshal([]byte(bad), &got); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// TestQueryResultDecodesAsEncodingJSON: the response decoder the client
// uses gives what encoding/json gives, and refuses what it refuses.
func TestQueryResultDecodesAsEncodingJSON(t *testing.T) {
	for _, body := range []string{
		`{"totalSize":2,"done":false,"nextRecordsUrl":"/services/data/v60.0/query/01g-2000","records":[{"Id":"001A","N":1},{"Id":"001B","N":null}]}`,
		`{"totalSize":0,"done":true,"records":[]}`,
		`{"records":null,"done":true}`,
	} {
		var got, want queryResult
		if err := got.decodeJSON([]byte(body)); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if err := json.Unmarshal([]byte(body), &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %+v, want %+v", body, got, want)
		}
	}
	for _, bad := range []string{`{"records":[{"Id":"001A"}]`, `{"records":[{"Id":"001A"}]} x`, `not json`} {
		var got queryResult
		if err := got.decodeJSON([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// markerCases are task descriptions around the marker line's edges.
var markerCases = []string{
	"Call them\n\n[healthsync:at_risk/salesforce/001A/2026-12]",
	"[healthsync:k1]\r\nbody\r\n[healthsync:k2] \t\r",
	"text [healthsync:inline] not a line",
	"[healthsync:]\n[healthsync:a]b]\n[healthsync:c] x",
	"[healthsync:a\rb]\n[healthsync:k]\r \r",
	"no marker at all",
	"body  \n[healthsync:k]\n\n  \n",
	"[healthsync:k]",
	"日本語\n[healthsync:キー/001]\n",
	"",
}

// TestParseMarkersAsMarkerRe: the marker lines found without a regular
// expression are the ones markerRe finds, the body the text it leaves.
func TestParseMarkersAsMarkerRe(t *testing.T) {
	for _, desc := range markerCases {
		checkMarkers(t, desc)
	}
}

func FuzzParseMarkers(f *testing.F) {
	for _, desc := range markerCases {
		f.Add(desc)
	}
	f.Fuzz(checkMarkers)
}

func checkMarkers(t *testing.T, desc string) {
	type parsed struct {
		Key, Body string
		OK        bool
	}
	var want parsed
	if m := markerRe.FindAllStringSubmatch(desc, -1); m != nil {
		want = parsed{m[len(m)-1][1], strings.TrimRight(markerRe.ReplaceAllString(desc, ""), "\r\n "), true}
	}
	key, body, ok := parseMarkers(desc)
	if got := (parsed{key, body, ok}); got != want {
		t.Errorf("%q: %+v, want %+v", desc, got, want)
	}
}
