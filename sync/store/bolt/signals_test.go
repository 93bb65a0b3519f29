package bolt

import (
	"reflect"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
)

func TestSignals(t *testing.T) {
	s := openTest(t)
	a := record.Ref{System: record.Salesforce, ID: "001A"}
	b := record.Ref{System: "external", ID: "acme/eu"}
	day := func(d int) time.Time { return t0.AddDate(0, 0, d) }
	sig := func(r record.Ref, m string, d int, v float64) record.Signal {
		return record.Signal{Account: r, Metric: m, Time: day(d), Value: v}
	}
	in := []record.Signal{
		sig(a, "logins", 0, 5), sig(a, "logins", 2, 7), sig(a, "logins", 1, 6),
		sig(a, "active_users", 0, 3), sig(a, "active_users", 3, 4),
		sig(b, "nps", 1, 9),
	}
	added, err := s.AddSignals(in)
	if err != nil || added != 6 {
		t.Fatalf("AddSignals = %d, %v", added, err)
	}
	// Posting again (one value corrected) adds nothing new.
	added, err = s.AddSignals([]record.Signal{sig(a, "logins", 2, 8), sig(b, "nps", 1, 9)})
	if err != nil || added != 0 {
		t.Fatalf("re-adding = %d, %v", added, err)
	}
	tests := []struct {
		name    string
		account string
		since   time.Time
		want    []record.Signal
	}{
		{"all of an account", a.Key(), time.Time{}, []record.Signal{
			sig(a, "active_users", 0, 3), sig(a, "active_users", 3, 4),
			sig(a, "logins", 0, 5), sig(a, "logins", 1, 6), sig(a, "logins", 2, 8)}},
		{"since skips older points of every metric", a.Key(), day(1), []record.Signal{
			sig(a, "active_users", 3, 4), sig(a, "logins", 1, 6), sig(a, "logins", 2, 8)}},
		{"external key with a slash", b.Key(), time.Time{}, []record.Signal{sig(b, "nps", 1, 9)}},
		{"unknown account", "hubspot/1", time.Time{}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Signals(tc.account, tc.since)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
	all, err := s.AllSignals(day(2))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]record.Signal{a.Key(): {sig(a, "active_users", 3, 4), sig(a, "logins", 2, 8)}}
	if !reflect.DeepEqual(all, want) {
		t.Errorf("AllSignals %+v", all)
	}
	n, err := s.PruneSignals(day(2))
	if err != nil || n != 4 {
		t.Errorf("PruneSignals = %d, %v; want 4", n, err)
	}
	if _, err := s.AddSignals([]record.Signal{{Account: a, Time: t0}}); err == nil {
		t.Error("signal without metric accepted")
	}
}
