package postgres

import (
	"context"
	"testing"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

// TestByteOrder: the lists whose contract says "in order" are in byte
// order even where the database's own collation is linguistic (the CI
// cluster's is ICU en-US, where "a" sorts before "B").
func TestByteOrder(t *testing.T) {
	s, _ := openTest(t, Options{})
	var linguistic bool
	if err := s.pool.QueryRow(context.Background(), `SELECT 'a' < 'B'`).Scan(&linguistic); err != nil {
		t.Fatal(err)
	}
	if !linguistic {
		t.Log("the test database's collation is byte order already: this test cannot tell COLLATE \"C\" is missing")
	}
	keys := []string{"a1", "_x", "B1", "Z9", "b2", "é"} // byte order: B1 Z9 _x a1 b2 é
	want := []string{"B1", "Z9", "_x", "a1", "b2", "é"}

	var accts []record.Account
	var links []store.Link
	var tasks []store.CreatedTask
	for _, k := range keys {
		accts = append(accts, record.Account{Ref: record.Ref{System: record.Salesforce, ID: k, Modified: t0}})
		links = append(links, store.Link{AccountKey: k, CustomerKey: "c", Rule: "r", Created: t0})
		tasks = append(tasks, store.CreatedTask{DedupeKey: k, Status: record.TaskOpen, Created: t0})
	}
	if _, err := s.CommitBatch(keys[0], &record.Batch{Accounts: accts}); err != nil {
		t.Fatal(err)
	}
	for _, c := range keys[1:] {
		if _, err := s.CommitBatch(c, &record.Batch{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetLinks(links); err != nil {
		t.Fatal(err)
	}
	if err := s.PutTasks(tasks); err != nil {
		t.Fatal(err)
	}

	got := map[string][]string{}
	as, err := s.Accounts(keys[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as {
		got["accounts"] = append(got["accounts"], a.ID)
	}
	if got["connectors"], err = s.Connectors(); err != nil {
		t.Fatal(err)
	}
	ls, err := s.Links()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		got["links"] = append(got["links"], l.AccountKey)
	}
	ts, err := s.OpenTasks()
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range ts {
		got["open tasks"] = append(got["open tasks"], task.DedupeKey)
	}
	same(t, "orders", got, map[string][]string{"accounts": want, "connectors": want, "links": want, "open tasks": want})
}
