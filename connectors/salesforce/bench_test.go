package salesforce_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/connectors/salesforce"
	"github.com/healthsync/healthsync/connectors/salesforce/salesforcetest"
)

// BenchmarkPull50kAccounts: a full pull of 50,000 accounts (with an NPS__c
// custom field) through the fake, 2,000 records per page; calls and the
// fake's own serving time (fake-ms/op) per pull.
func BenchmarkPull50kAccounts(b *testing.B) {
	e := newEnv(b, salesforcetest.Options{DailyAllocation: 1 << 40})
	e.fake.AddFields("Account", salesforcetest.Field{Name: "NPS__c", Type: salesforcetest.TypeDouble, Updateable: true, Createable: true, Custom: true, Nillable: true})
	e.cfg.Objects = []config.Object{{Name: "Account", Fields: []string{"NPS__c"}}}
	for i := range 50000 {
		if i%1000 == 0 {
			e.clock.Advance(time.Second)
		}
		e.mustInsert("Account", map[string]any{"Name": fmt.Sprintf("Account %d", i), "Website": "https://example.com", "NPS__c": i % 11})
	}
	c := e.client(salesforce.Options{})
	before, busy := c.Stats().Calls, e.fake.Busy()
	runs := 0
	for b.Loop() {
		got, err := pull(b, c, map[string][]byte{}, true, 0)
		if err != nil {
			b.Fatal(err)
		}
		if n := len(accountIDs(got)); n != 50000 {
			b.Fatalf("pulled %d accounts", n)
		}
		runs++
	}
	b.ReportMetric(float64(c.Stats().Calls-before)/float64(runs), "calls/op")
	e.fake.ReportBusy(b, busy, runs)
}

// BenchmarkWriteBack10k: 10,000 account updates of four health fields
// through sObject Collections (must stay at or under 50 write calls).
func BenchmarkWriteBack10k(b *testing.B) {
	e := newEnv(b, salesforcetest.Options{DailyAllocation: 1 << 40})
	e.fake.AddHealthsyncFields()
	ids := make([]string, 10000)
	for i := range ids {
		ids[i] = e.mustInsert("Account", map[string]any{"Name": fmt.Sprintf("Account %d", i)})
	}
	c := e.client(salesforce.Options{})
	updates := make([]record.FieldUpdate, len(ids))
	at := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	for i, id := range ids {
		updates[i] = record.FieldUpdate{Object: "Account", ID: id, Fields: map[string]any{
			"Health_Score__c": float64(i % 100), "Health_Band__c": "healthy", "MRR__c": 990.0, "Healthsync_Updated_At__c": at,
		}}
	}
	runs := 0
	before := e.fake.Count("composite")
	for b.Loop() {
		res, err := c.Update(context.Background(), updates)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range res {
			if r.Error != nil {
				b.Fatal(r.Error)
			}
		}
		runs++
	}
	writes := float64(e.fake.Count("composite")-before) / float64(runs)
	if writes > 50 {
		b.Fatalf("%v write calls for 10,000 updates", writes)
	}
	b.ReportMetric(writes, "writecalls/op")
}
