package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestSyncLogKeys: a sync's JSON log lines (debug level, all four
// connectors) never repeat a key, and the connectors' own lines still name
// their connector.
func TestSyncLogKeys(t *testing.T) {
	stack := testStack(t, 10, 5)
	text, _ := os.ReadFile(stack.cfgPath)
	text = bytes.Replace(text, []byte("log: {level: warn}"), []byte("log: {level: debug, format: json}"), 1)
	os.WriteFile(stack.cfgPath, text, 0o600)
	code, out, errs := runCLI(t, "sync", "--config", stack.cfgPath)
	if code != 0 {
		t.Fatalf("sync: exit %d\n%s%s", code, out, errs)
	}
	named := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(errs), "\n") {
		keys, err := objectKeys(line)
		if err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		count := map[string]int{}
		for _, k := range keys {
			if count[k]++; count[k] == 2 {
				t.Errorf("key %q twice: %s", k, line)
			}
		}
		var m map[string]any
		json.Unmarshal([]byte(line), &m)
		if c, ok := m["connector"].(string); ok {
			named[c+" "+m["message"].(string)] = true
		}
	}
	for _, want := range []string{"salesforce salesforce session opened", "chargebee pulling stream", "stripe pull finished"} {
		if !named[want] {
			t.Errorf("no line %q with its connector; have %v", want, named)
		}
	}
}

// objectKeys lists a JSON object's top-level keys in order, repeats kept.
func objectKeys(line string) ([]string, error) {
	dec := json.NewDecoder(strings.NewReader(line))
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return keys, nil
}
