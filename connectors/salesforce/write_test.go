package salesforce_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/httpclient"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/connectors/salesforce"
	"github.com/healthsync/healthsync/connectors/salesforce/salesforcetest"
)

// 450 updates, 3 of them bad: 3 composite calls, 447 written, 3 reported
// per record (one transient).
func TestUpdateBatchWithBadRecords(t *testing.T) {
	e := newEnv(t, salesforcetest.Options{})
	e.fake.AddHealthsyncFields()
	e.fake.AddValidationRule("Account", "Health_Score__c", "Health score must be between 0 and 100",
		func(rec map[string]any) bool { s, _ := rec["Health_Score__c"].(float64); return s > 100 })
	ids := e.seedAccounts(450)
	deleted, invalid, locked := ids[10], ids[220], ids[449]
	if err := e.fake.Delete("Account", deleted); err != nil {
		t.Fatal(err)
	}
	e.fake.FailRecord(locked, "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record or 1 records: "+locked, 1)
	at := time.Date(2025, 3, 1, 12, 30, 0, 0, time.UTC)
	updates := make([]record.FieldUpdate, len(ids))
	for i, id := range ids {
		score := float64(i % 100)
		if id == invalid {
			score = 140
		}
		updates[i] = record.FieldUpdate{Object: "Account", ID: id, Fields: map[string]any{
			"Health_Score__c": score, "Health_Band__c": "healthy", "Health_Reasons__c": "usage up 20%",
			"MRR__c": int64(1250), "Healthsync_Updated_At__c": at,
		}}
	}
	c := e.client(salesforce.Options{})
	res, err := c.Update(context.Background(), updates)
	if err != nil {
		t.Fatal(err)
	}
	if n := e.fake.Count("composite"); n != 3 {
		t.Errorf("composite calls = %d, want 3", n)
	}
	if len(res) != 450 {
		t.Fatalf("results = %d", len(res))
	}
	failed := map[string]*record.WriteError{}
	ok := 0
	for _, r := range res {
		if r.Error != nil {
			failed[r.ID] = r.Error
		} else {
			ok++
		}
	}
	want := map[string]*record.WriteError{
		deleted: {Code: "ENTITY_IS_DELETED", Message: "entity is deleted", Fields: []string{}},
		invalid: {Code: "FIELD_CUSTOM_VALIDATION_EXCEPTION", Message: "Health score must be between 0 and 100", Fields: []string{"Health_Score__c"}},
		locked:  {Code: "UNABLE_TO_LOCK_ROW", Message: "unable to obtain exclusive access to this record or 1 records: " + locked, Fields: []string{}, Transient: true},
	}
	if ok != 447 || !equalJSON(failed, want) {
		t.Errorf("ok = %d, failed = %s\nwant 447 and %s", ok, jsonString(failed), jsonString(want))
	}
	got := e.fake.Get("Account", ids[5])
	if got["Health_Score__c"] != 5.0 || got["MRR__c"] != 1250.0 || got["Health_Band__c"] != "healthy" || !got["Healthsync_Updated_At__c"].(time.Time).Equal(at) {
		t.Errorf("stored = %v", got)
	}
	// The transient failure succeeds on the next pass.
	res, err = c.Update(context.Background(), []record.FieldUpdate{updates[449]})
	if err != nil || len(res) != 1 || res[0].Error != nil {
		t.Errorf("retry: %v %v", res, err)
	}
}

func jsonString(v any) string {
	return fmt.Sprintf("%+v", v)
}

func TestUpdateTypesValues(t *testing.T) {
	e := newEnv(t, salesforcetest.Options{})
	e.fake.AddHealthsyncFields()
	e.fake.AddFields("Account", salesforcetest.Field{Name: "Renewal_Date__c", Type: salesforcetest.TypeDate, Updateable: true, Createable: true, Custom: true, Nillable: true},
		salesforcetest.Field{Name: "Churn_Risk__c", Type: salesforcetest.TypePercent, Updateable: true, Createable: true, Custom: true, Nillable: true},
		salesforcetest.Field{Name: "Score_Formula__c", Type: salesforcetest.TypeDouble, Custom: true, Nillable: true, Calculated: true})
	id := e.seedAccounts(1)[0]
	c := e.client(salesforce.Options{})
	tests := []struct {
		name      string
		fields    map[string]any
		wantCode  string
		wantStore map[string]any
	}{
		{name: "number from int", fields: map[string]any{"Health_Score__c": 87}, wantStore: map[string]any{"Health_Score__c": 87.0}},
		{name: "number from string", fields: map[string]any{"Health_Trend__c": "-3.5"}, wantStore: map[string]any{"Health_Trend__c": -3.5}},
		{name: "percent", fields: map[string]any{"Churn_Risk__c": 12.5}, wantStore: map[string]any{"Churn_Risk__c": 12.5}},
		{name: "currency", fields: map[string]any{"ARR__c": 15000.0}, wantStore: map[string]any{"ARR__c": 15000.0}},
		{name: "date from time", fields: map[string]any{"Renewal_Date__c": time.Date(2025, 6, 30, 22, 0, 0, 0, time.UTC)}, wantStore: map[string]any{"Renewal_Date__c": "2025-06-30"}},
		{name: "datetime from other zone", fields: map[string]any{"Healthsync_Updated_At__c": time.Date(2025, 3, 1, 14, 0, 0, 0, time.FixedZone("CET", 3600))},
			wantStore: map[string]any{"Healthsync_Updated_At__c": time.Date(2025, 3, 1, 13, 0, 0, 0, time.UTC)}},
		{name: "picklist", fields: map[string]any{"Health_Band__c": "at_risk", "Touch_Model__c": "tech"}, wantStore: map[string]any{"Health_Band__c": "at_risk"}},
		{name: "null clears", fields: map[string]any{"Health_Reasons__c": nil}, wantStore: map[string]any{"Health_Reasons__c": nil}},
		{name: "text too long", fields: map[string]any{"Health_Reasons__c": strings.Repeat("x", 256)}, wantCode: "INVALID_VALUE"},
		{name: "restricted picklist value", fields: map[string]any{"Health_Band__c": "Purple"}, wantCode: "INVALID_VALUE"},
		{name: "not a number", fields: map[string]any{"Health_Score__c": "high"}, wantCode: "INVALID_VALUE"},
		{name: "number outside the field's digits", fields: map[string]any{"MRR__c": 1e16}, wantCode: "INVALID_VALUE"},
		{name: "number at the field's largest", fields: map[string]any{"MRR__c": 9999999999999998.0}, wantStore: map[string]any{"MRR__c": 9999999999999998.0}},
		{name: "unknown field", fields: map[string]any{"Nope__c": 1}, wantCode: "INVALID_FIELD"},
		{name: "formula field", fields: map[string]any{"Score_Formula__c": 1}, wantCode: "INVALID_FIELD_FOR_INSERT_UPDATE"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := e.fake.Count("composite")
			res, err := c.Update(context.Background(), []record.FieldUpdate{{Object: "Account", ID: id, Fields: tc.fields}})
			if err != nil || len(res) != 1 {
				t.Fatalf("Update: %v %v", res, err)
			}
			if tc.wantCode != "" {
				if res[0].Error == nil || res[0].Error.Code != tc.wantCode || res[0].Error.Transient {
					t.Fatalf("error = %v, want %s", res[0].Error, tc.wantCode)
				}
				if e.fake.Count("composite") != before {
					t.Error("an invalid value was sent")
				}
				return
			}
			if res[0].Error != nil {
				t.Fatalf("error = %v", res[0].Error)
			}
			got := e.fake.Get("Account", id)
			for k, v := range tc.wantStore {
				if gt, ok := got[k].(time.Time); ok {
					if !gt.Equal(v.(time.Time)) {
						t.Errorf("%s = %v, want %v", k, gt, v)
					}
					continue
				}
				if got[k] != v {
					t.Errorf("%s = %#v, want %#v", k, got[k], v)
				}
			}
		})
	}
}

func TestTasksCreateDedupeComplete(t *testing.T) {
	e := newEnv(t, salesforcetest.Options{})
	owner := e.fake.AddUser("Ada CSM")
	queue := e.fake.AddQueue("CS Queue")
	acme := e.mustInsert("Account", map[string]any{"Name": "Acme", "OwnerId": owner})
	globex := e.mustInsert("Account", map[string]any{"Name": "Globex", "OwnerId": owner})
	// A task a human created: never reported as healthsync's.
	e.mustInsert("Task", map[string]any{"WhatId": acme, "Subject": "Call", "Status": "Not Started", "Description": "call them"})
	c := e.client(salesforce.Options{})
	ctx := context.Background()
	due := time.Date(2025, 3, 8, 0, 0, 0, 0, time.UTC)
	tasks := []record.Task{
		{AccountID: acme, Subject: "Health dropped to Red", Body: "Score 38 (was 71).", Due: due, Priority: "high", Status: record.TaskOpen, DedupeKey: "acme-red-2025-03"},
		{AccountID: globex, OwnerID: queue, Subject: "Renewal in 60 days", Priority: "normal", Status: record.TaskOpen, DedupeKey: "globex-renewal"},
	}
	res, err := c.CreateTasks(ctx, tasks)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].Error != nil || res[1].Error != nil || res[0].Key != "acme-red-2025-03" || res[1].Key != "globex-renewal" {
		t.Fatalf("results = %+v", res)
	}
	stored := e.fake.Get("Task", res[0].ID)
	want := map[string]any{"WhatId": acme, "OwnerId": owner, "Subject": "Health dropped to Red", "Priority": "High", "Status": "Not Started",
		"ActivityDate": "2025-03-08", "Description": "Score 38 (was 71).\n\n[healthsync:acme-red-2025-03]"}
	for k, v := range want {
		if stored[k] != v {
			t.Errorf("task %s = %#v, want %#v", k, stored[k], v)
		}
	}
	if got := e.fake.Get("Task", res[1].ID)["OwnerId"]; got != queue {
		t.Errorf("second task owner = %v, want queue %s", got, queue)
	}

	// Same key again: no new task, the existing ID.
	calls := e.fake.Count("composite")
	again, err := c.CreateTasks(ctx, tasks[:1])
	if err != nil || len(again) != 1 || again[0].ID != res[0].ID || e.fake.Count("composite") != calls {
		t.Errorf("dedupe: %+v %v, composite %d -> %d", again, err, calls, e.fake.Count("composite"))
	}

	// A new process finds them through the Task stream.
	c2 := e.client(salesforce.Options{})
	got, err := pull(t, c2, map[string][]byte{}, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	ts := byStream(got, salesforce.StreamTask)
	if len(ts) != 1 || !ts[0].Full || !ts[0].Done || len(ts[0].Tasks) != 2 {
		t.Fatalf("task stream = %+v", ts)
	}
	wantTask := record.Task{Ref: record.Ref{System: record.Salesforce, ID: res[0].ID, Modified: e.clock.Now()}, AccountID: acme, OwnerID: owner,
		Subject: "Health dropped to Red", Body: "Score 38 (was 71).", Due: due, Priority: "high", Status: record.TaskOpen, DedupeKey: "acme-red-2025-03"}
	if !equalJSON(ts[0].Tasks[0], wantTask) {
		t.Errorf("task = %+v\nwant %+v", ts[0].Tasks[0], wantTask)
	}

	// Completing appends the note and removes it from the open set.
	done, err := c2.CompleteTasks(ctx, []record.Task{{Ref: record.Ref{ID: res[0].ID}, DedupeKey: "acme-red-2025-03", Note: "Recovered to Green on 2025-03-20."}})
	if err != nil || len(done) != 1 || done[0].Error != nil {
		t.Fatalf("CompleteTasks = %+v, %v", done, err)
	}
	stored = e.fake.Get("Task", res[0].ID)
	if stored["Status"] != "Completed" || stored["IsClosed"] != true ||
		stored["Description"] != "Score 38 (was 71).\n\n[healthsync:acme-red-2025-03]\nRecovered to Green on 2025-03-20." {
		t.Errorf("completed task = %v", stored)
	}
	got, err = pull(t, c2, map[string][]byte{}, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	if ts := byStream(got, salesforce.StreamTask); len(ts[0].Tasks) != 1 || ts[0].Tasks[0].DedupeKey != "globex-renewal" {
		t.Errorf("open tasks after completion = %+v", ts[0].Tasks)
	}
}

func TestLimitCeiling(t *testing.T) {
	tests := []struct {
		name      string
		used      int64
		share     float64
		wantCalls int64 // API calls the fake saw
		ceiling   bool  // stopped by the client's ceiling (vs the org's limit)
	}{
		{name: "below ceiling", used: 10, wantCalls: 2},
		{name: "crosses default 80% on first call", used: 79, wantCalls: 1, ceiling: true},
		{name: "configured 50%", used: 49, share: 0.5, wantCalls: 1, ceiling: true},
		{name: "org allocation spent", used: 100, share: 1, wantCalls: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, salesforcetest.Options{})
			ids := e.seedAccounts(1)
			e.fake.SetAPIUsage(tc.used, 100)
			e.cfg.MaxAPIShare = tc.share
			c := e.client(salesforce.Options{})
			ctx := context.Background()
			_, err1 := c.Fetch(ctx, "Account", ids[0])
			_, err2 := c.Fetch(ctx, "Account", ids[0])
			calls := e.fake.Count("queryAll") // Fetch reads through queryAll
			if calls != tc.wantCalls {
				t.Errorf("API calls = %d, want %d", calls, tc.wantCalls)
			}
			switch {
			case tc.used == 100:
				var he *httpclient.Error
				if !errors.As(err1, &he) || he.Code != "REQUEST_LIMIT_EXCEEDED" || he.Status != 403 || !errors.Is(err1, httpclient.ErrQuota) {
					t.Errorf("err = %v, want REQUEST_LIMIT_EXCEEDED quota error", err1)
				}
			case tc.ceiling:
				if err1 != nil || !errors.Is(err2, salesforce.ErrCeiling) || !errors.Is(err2, httpclient.ErrQuota) {
					t.Errorf("errs = %v, %v; want the second stopped at the ceiling", err1, err2)
				}
			default:
				if err1 != nil || err2 != nil {
					t.Errorf("errs = %v, %v", err1, err2)
				}
			}
			if u := c.Usage(); u.Limit != 100 || u.Used < tc.used {
				t.Errorf("usage = %+v", u)
			}
		})
	}
}

func TestPreflight(t *testing.T) {
	e := newEnv(t, salesforcetest.Options{})
	e.fake.AddHealthsyncFields()
	e.fake.RemoveField("Account", "Health_Trend__c")
	c := e.client(salesforce.Options{})
	got, err := c.Preflight(context.Background(), map[string][]string{
		"Account":   {"Health_Score__c", "Health_Trend__c", "SystemModstamp", "health_band__c"},
		"Widget__c": {"Score__c"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []record.FieldProblem{
		{Object: "Account", Field: "Health_Trend__c", Problem: "does not exist"},
		{Object: "Account", Field: "SystemModstamp", Problem: "is not writable"},
		{Object: "Widget__c", Field: "Score__c", Problem: "object does not exist"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems = %+v\nwant %+v", got, want)
	}
}

// Task.Description holds 32,000 characters: a long body is cut so that the
// marker line survives (the task is still found as healthsync's), and a
// completion note is cut to what is left.
func TestTaskDescriptionFitsLongTextArea(t *testing.T) {
	e := newEnv(t, salesforcetest.Options{})
	owner := e.fake.AddUser("Ada CSM")
	acme := e.mustInsert("Account", map[string]any{"Name": "Acme", "OwnerId": owner})
	c := e.client(salesforce.Options{})
	ctx := context.Background()
	marker := "\n\n[healthsync:acme-long]"
	body := strings.Repeat("é", 40000)
	res, err := c.CreateTasks(ctx, []record.Task{{AccountID: acme, Subject: "Long", Body: body, Status: record.TaskOpen, DedupeKey: "acme-long"}})
	if err != nil || len(res) != 1 || res[0].Error != nil {
		t.Fatalf("CreateTasks = %+v, %v", res, err)
	}
	kept := 32000 - len([]rune(marker)) - 1
	want := strings.Repeat("é", kept) + "…" + marker
	if got := e.fake.Get("Task", res[0].ID)["Description"]; got != want {
		t.Fatalf("Description: %d characters, want %d ending in the marker", len([]rune(got.(string))), len([]rune(want)))
	}
	got, err := pull(t, c, map[string][]byte{}, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	if ts := byStream(got, salesforce.StreamTask); len(ts) != 1 || len(ts[0].Tasks) != 1 || ts[0].Tasks[0].DedupeKey != "acme-long" {
		t.Fatalf("task stream = %+v", ts)
	}

	// A full Description takes no note; one with room takes what fits.
	shortDesc := strings.Repeat("a", 31950) + "\n[healthsync:acme-short]" // 31,974 characters
	short := e.mustInsert("Task", map[string]any{"WhatId": acme, "Subject": "Short", "Status": "Not Started", "Description": shortDesc})
	note := "Recovered to Green on 2025-03-20, score 81."
	done, err := c.CompleteTasks(ctx, []record.Task{
		{Ref: record.Ref{ID: res[0].ID}, DedupeKey: "acme-long", Note: note},
		{Ref: record.Ref{ID: short}, DedupeKey: "acme-short", Note: note},
	})
	if err != nil || len(done) != 2 || done[0].Error != nil || done[1].Error != nil {
		t.Fatalf("CompleteTasks = %+v, %v", done, err)
	}
	wants := map[string]string{
		res[0].ID: want,
		short:     shortDesc + "\n" + note[:24] + "…", // 25 characters left after the line break
	}
	for id, w := range wants {
		if got := e.fake.Get("Task", id); got["Description"] != w || got["Status"] != "Completed" {
			t.Errorf("task %s: Status %v, Description %q...%q, want ...%q", id, got["Status"], got["Description"].(string)[:10], tail(got["Description"].(string)), tail(w))
		}
	}
}

func tail(s string) string { return s[max(len(s)-40, 0):] }

// Completing 450 tasks reads them 200 IDs per query, each URI inside the
// fake's 16,384-byte request limit, and writes them 200 per collection.
func TestCompleteManyTasksWithinRequestLimits(t *testing.T) {
	e := newEnv(t, salesforcetest.Options{})
	acme := e.mustInsert("Account", map[string]any{"Name": "Acme"})
	var tasks []record.Task
	var want []record.WriteResult
	for i := range 450 {
		key := fmt.Sprintf("acme-%03d", i)
		id := e.mustInsert("Task", map[string]any{"WhatId": acme, "Subject": "s", "Status": "Not Started", "Description": "[healthsync:" + key + "]"})
		tasks = append(tasks, record.Task{Ref: record.Ref{ID: id}, DedupeKey: key})
		want = append(want, record.WriteResult{ID: id, Key: key})
	}
	c := e.client(salesforce.Options{})
	got, err := c.CompleteTasks(context.Background(), tasks)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("results differ: got %d, first %+v", len(got), got[:min(len(got), 2)])
	}
	if q, w := e.fake.Count("query"), e.fake.Count("composite"); q != 3 || w != 3 {
		t.Errorf("calls: %d queries, %d collections; want 3 and 3", q, w)
	}
}

// TestTasksPullIncrementally: after a full read of the open tasks, a pull
// with the stored cursor reads only the tasks changed since, a task
// completed in Salesforce included (as completed), not every open task.
func TestTasksPullIncrementally(t *testing.T) {
	e := newEnv(t, salesforcetest.Options{})
	acme := e.mustInsert("Account", map[string]any{"Name": "Acme"})
	globex := e.mustInsert("Account", map[string]any{"Name": "Globex"})
	c := e.client(salesforce.Options{Now: e.clock.Now})
	ctx := context.Background()
	res, err := c.CreateTasks(ctx, []record.Task{
		{AccountID: acme, Subject: "Call Acme", Priority: "normal", Status: record.TaskOpen, DedupeKey: "acme-call"},
		{AccountID: globex, Subject: "Call Globex", Priority: "normal", Status: record.TaskOpen, DedupeKey: "globex-call"},
	})
	if err != nil || len(res) != 2 {
		t.Fatalf("CreateTasks = %+v, %v", res, err)
	}
	e.clock.Advance(10 * time.Minute) // past the cursor's settle window
	cursors := map[string][]byte{}
	type read struct {
		Full bool
		Keys []string
		Open []bool
	}
	readOf := func(bs []*record.Batch) read {
		r := read{Full: true, Keys: []string{}, Open: []bool{}}
		for _, b := range byStream(bs, salesforce.StreamTask) {
			r.Full = r.Full && b.Full
			for _, tk := range b.Tasks {
				r.Keys = append(r.Keys, tk.DedupeKey)
				r.Open = append(r.Open, tk.Status == record.TaskOpen)
			}
		}
		return r
	}
	steps := []struct {
		name   string
		change func()
		want   read
	}{
		{"first pull: every open task", nil, read{true, []string{"acme-call", "globex-call"}, []bool{true, true}}},
		{"nothing changed", nil, read{false, []string{}, []bool{}}},
		{"one completed in Salesforce", func() {
			if err := e.fake.Update("Task", res[0].ID, map[string]any{"Status": "Completed"}); err != nil {
				t.Fatal(err)
			}
		}, read{false, []string{"acme-call"}, []bool{false}}},
	}
	for _, s := range steps {
		e.clock.Advance(time.Minute)
		if s.change != nil {
			s.change()
		}
		got, err := pull(t, c, cursors, false, 0)
		if err != nil {
			t.Fatal(err)
		}
		if r := readOf(got); !reflect.DeepEqual(r, s.want) {
			t.Errorf("%s: task stream read %+v, want %+v", s.name, r, s.want)
		}
	}
}
