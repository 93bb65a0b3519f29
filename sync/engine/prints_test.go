package engine

import (
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
	"github.com/healthsync/healthsync/sync/store/bolt"
)

// TestAccountPrintCoversEveryField: accountPrint hashes fields one by one,
// so a field added to record.Account must be added there too. Setting any
// field but the modified time changes the print; the modified time does
// not.
func TestAccountPrintCoversEveryField(t *testing.T) {
	base := record.Account{Ref: record.Ref{System: record.Salesforce, ID: "001A"}, Name: "Acme", Fields: map[string]any{"NPS__c": 7.0}}
	want := accountPrint(base, nil, nil)
	var walk func(v reflect.Value, path string)
	walk = func(v reflect.Value, path string) {
		for i := 0; i < v.NumField(); i++ {
			f, name := v.Field(i), path+v.Type().Field(i).Name
			if v.Type().Field(i).Anonymous {
				walk(f, name+".")
				continue
			}
			a := base
			a.Fields = map[string]any{"NPS__c": 7.0}
			av := reflect.ValueOf(&a).Elem().FieldByName(v.Type().Field(i).Name)
			switch f.Kind() {
			case reflect.String:
				av.SetString(f.String() + "x")
			case reflect.Bool:
				av.SetBool(!f.Bool())
			case reflect.Map:
				a.Fields["NPS__c"] = 8.0
			case reflect.Struct:
				if f.Type() != reflect.TypeFor[time.Time]() {
					t.Fatalf("%s: no case for %s", name, f.Type())
				}
				av.Set(reflect.ValueOf(time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)))
			default:
				t.Fatalf("%s: no case for %s", name, f.Kind())
			}
			got := accountPrint(a, nil, nil)
			if moved := got != want; moved != (name != "Ref.Modified") {
				t.Errorf("setting %s moved the print: %v", name, moved)
			}
		}
	}
	walk(reflect.ValueOf(base), "")
}

// TestAccountPrintOwnWrites: a write-back field counts only where it holds
// another value than healthsync last wrote (compared as plan does: a time
// as text, a number as float); fields healthsync never wrote do not count.
func TestAccountPrintOwnWrites(t *testing.T) {
	at := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	mapped := []string{"Health_Score__c", "Healthsync_Updated_At__c"}
	written := map[string]store.WrittenValue{
		"Health_Score__c":          {Value: 72.0, At: at},
		"Healthsync_Updated_At__c": {Value: "2026-12-06T09:00:00Z", At: at},
	}
	acct := func(score, updated any, nps float64) record.Account {
		return record.Account{Ref: record.Ref{System: record.Salesforce, ID: "001A", Modified: at}, Name: "Acme",
			Fields: map[string]any{"Health_Score__c": score, "Healthsync_Updated_At__c": updated, "NPS__c": nps}}
	}
	before := accountPrint(acct(nil, nil, 7), mapped, nil)
	for _, c := range []struct {
		name string
		a    record.Account
		same bool
	}{
		{"healthsync's values read back", acct(72.0, "2026-12-06T09:00:00.000+0000", 7), true},
		{"a person's score", acct(40.0, "2026-12-06T09:00:00.000+0000", 7), false},
		{"a person's time", acct(72.0, "2026-12-07T09:00:00.000+0000", 7), false},
		{"a field healthsync does not write", acct(72.0, "2026-12-06T09:00:00.000+0000", 8), false},
	} {
		if same := accountPrint(c.a, mapped, written) == before; same != c.same {
			t.Errorf("%s: print unchanged %v, want %v", c.name, same, c.same)
		}
	}
}

// ledgerReads counts the store's ledger reads.
type ledgerReads struct {
	store.Store
	ids []string
}

func (l *ledgerReads) WrittenOf(connector, object string, ids []string) (map[store.WriteKey]map[string]store.WrittenValue, error) {
	l.ids = append(l.ids, ids...)
	return l.Store.WrittenOf(connector, object, ids)
}

// TestLedgerMirror: the engine reads a record's written values from the
// store once and keeps them up to date with the writes it records; a
// write it could not record drops the record from the mirror, and with
// PostgreSQL (several replicas write the ledger) every read goes to the
// store.
func TestLedgerMirror(t *testing.T) {
	at := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	type step struct {
		write    map[string]any // written to 001A and recorded
		failed   bool           // the write was not recorded
		wantRead []string
		want     map[string]any // 001A's values as writtenOf returns them
	}
	for _, c := range []struct {
		driver string
		steps  []step
	}{
		{config.DriverBolt, []step{
			{wantRead: []string{"001A", "001B"}, want: map[string]any{"Health_Score__c": 50.0}},
			{wantRead: nil, want: map[string]any{"Health_Score__c": 50.0}},
			{write: map[string]any{"Health_Band__c": "healthy", "Healthsync_Updated_At__c": at}, wantRead: nil,
				want: map[string]any{"Health_Score__c": 50.0, "Health_Band__c": "healthy", "Healthsync_Updated_At__c": "2026-12-06T09:00:00Z"}},
			{write: map[string]any{"Health_Score__c": 60.0}, failed: true, wantRead: []string{"001A"},
				want: map[string]any{"Health_Score__c": 60.0, "Health_Band__c": "healthy", "Healthsync_Updated_At__c": "2026-12-06T09:00:00Z"}},
		}},
		{config.DriverPostgres, []step{
			{wantRead: []string{"001A", "001B"}, want: map[string]any{"Health_Score__c": 50.0}},
			{write: map[string]any{"Health_Band__c": "healthy"}, wantRead: []string{"001A", "001B"},
				want: map[string]any{"Health_Score__c": 50.0, "Health_Band__c": "healthy"}},
		}},
	} {
		t.Run(c.driver, func(t *testing.T) {
			e := planEngine(t)
			e.cfg.Store.Driver = c.driver
			db, err := bolt.Open(filepath.Join(t.TempDir(), "l.db"), bolt.Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			reads := &ledgerReads{Store: db}
			e.st = reads
			if err := db.PutWritten("sf", []record.FieldUpdate{{Object: "Account", ID: "001A", Fields: map[string]any{"Health_Score__c": 50.0}}}, at); err != nil {
				t.Fatal(err)
			}
			for i, s := range c.steps {
				if s.write != nil {
					u := []record.FieldUpdate{{Object: "Account", ID: "001A", Fields: s.write}}
					if err := db.PutWritten("sf", u, at); err != nil {
						t.Fatal(err)
					}
					e.noteWritten("sf", u, at, !s.failed)
				}
				reads.ids = nil
				got, err := e.writtenOf("sf", "Account", []string{"001A", "001B"})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(reads.ids, s.wantRead) {
					t.Errorf("step %d: read %q from the store, want %q", i, reads.ids, s.wantRead)
				}
				values := map[string]any{}
				for f, wv := range got["001A"] {
					values[f] = wv.Value
				}
				if fmt.Sprint(values) != fmt.Sprint(s.want) || len(got["001B"]) != 0 {
					t.Errorf("step %d: written values %v and %v, want %v and none", i, values, got["001B"], s.want)
				}
			}
		})
	}
}
