package hubspot

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/hubspot/hubspottest"
	"github.com/healthsync/healthsync/connectors/record"
)

func seedHealthProps(srv *hubspottest.Server) {
	for _, p := range DefaultProperties() {
		ft := p.FieldType
		if ft == "" {
			ft = defaultFieldType(p.Type)
		}
		var opts []hubspottest.Option
		for _, o := range p.Options {
			opts = append(opts, hubspottest.Option{Label: o, Value: o})
		}
		srv.SeedProperty("companies", hubspottest.Property{Name: p.Name, Label: p.Label, Type: p.Type, FieldType: ft, GroupName: GroupName, Options: opts})
	}
}

func TestUpdateMultiStatus(t *testing.T) {
	srv := hubspottest.NewServer(hubspottest.Options{AccessToken: testToken})
	defer srv.Close()
	seedHealthProps(srv)
	var updates []record.FieldUpdate
	for i := range 248 {
		id := srv.Seed("companies", hubspottest.Object{Properties: map[string]string{"name": "c"}})
		updates = append(updates, record.FieldUpdate{Object: "companies", ID: id, Fields: map[string]any{
			"healthsync_health_score": float64(i), "healthsync_band": "healthy", "healthsync_updated_at": t0,
		}})
	}
	locked := updates[10].ID
	srv.FailRecord("companies", locked, hubspottest.RecordFault{Category: "INTERNAL_ERROR", Message: "try again"})
	updates = append(updates,
		record.FieldUpdate{Object: "companies", ID: "999001", Fields: map[string]any{"healthsync_band": "caution"}},
		record.FieldUpdate{Object: "companies", ID: "999002", Fields: map[string]any{"healthsync_band": "at_risk"}},
	)
	c, _ := newClient(t, testConfig(srv.URL), nil)
	res, err := c.Update(context.Background(), updates)
	if err != nil {
		t.Fatal(err)
	}
	if n := srv.Count("POST /crm/v3/objects/companies/batch/update"); n != 3 {
		t.Errorf("batch calls = %d, want 3", n)
	}
	var failed []string
	ok := 0
	for _, r := range res {
		if r.Error == nil {
			ok++
			continue
		}
		failed = append(failed, r.ID+":"+r.Error.Code+":"+map[bool]string{true: "transient", false: "permanent"}[r.Error.Transient])
	}
	slices.Sort(failed)
	want := []string{locked + ":INTERNAL_ERROR:transient", "999001:OBJECT_NOT_FOUND:permanent", "999002:OBJECT_NOT_FOUND:permanent"}
	slices.Sort(want)
	if ok != 247 || !slices.Equal(failed, want) {
		t.Errorf("ok=%d failed=%v, want 247 and %v", ok, failed, want)
	}
	got, _ := srv.Get("companies", updates[5].ID)
	if got.Properties["healthsync_health_score"] != "5" || got.Properties["healthsync_updated_at"] != "1740830400000" {
		t.Errorf("stored = %v", got.Properties)
	}
	// The transient failure succeeds on the next pass.
	srv.ClearRecordFault("companies", locked)
	res, err = c.Update(context.Background(), updates[10:11])
	if err != nil || len(res) != 1 || res[0].Error != nil {
		t.Errorf("retry = %+v, %v", res, err)
	}
}

func TestUpdateMergesDuplicateIDs(t *testing.T) {
	srv := hubspottest.NewServer(hubspottest.Options{AccessToken: testToken})
	defer srv.Close()
	seedHealthProps(srv)
	id := srv.Seed("companies", hubspottest.Object{Properties: map[string]string{"name": "c"}})
	c, _ := newClient(t, testConfig(srv.URL), nil)
	res, err := c.Update(context.Background(), []record.FieldUpdate{
		{Object: "companies", ID: id, Fields: map[string]any{"healthsync_band": "healthy", "healthsync_mrr": 10.5}},
		{Object: "companies", ID: id, Fields: map[string]any{"healthsync_band": "at_risk"}},
	})
	if err != nil || len(res) != 1 || res[0].Error != nil {
		t.Fatalf("res = %+v, %v", res, err)
	}
	got, _ := srv.Get("companies", id)
	if got.Properties["healthsync_band"] != "at_risk" || got.Properties["healthsync_mrr"] != "10.5" {
		t.Errorf("stored = %v", got.Properties)
	}
}

func TestSetup(t *testing.T) {
	srv := hubspottest.NewServer(hubspottest.Options{AccessToken: testToken})
	defer srv.Close()
	srv.SeedProperty("companies", hubspottest.Property{Name: "healthsync_mrr", Label: "MRR", Type: "string", FieldType: "text", GroupName: "companyinformation"})
	c, _ := newClient(t, testConfig(srv.URL), nil)
	rep, err := c.Setup(context.Background(), DefaultProperties())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.GroupCreated || len(rep.Created) != 8 || len(rep.Existing) != 0 ||
		len(rep.Conflicts) != 1 || rep.Conflicts[0].Field != "healthsync_mrr" || rep.Conflicts[0].Problem != "has type string, want number" {
		t.Fatalf("report = %+v", rep)
	}
	band, _ := srv.PropertyDef("companies", "healthsync_band")
	if band.Type != "enumeration" || band.FieldType != "select" || band.GroupName != GroupName || len(band.Options) != 3 {
		t.Errorf("band = %+v", band)
	}
	rep, err = c.Setup(context.Background(), DefaultProperties())
	if err != nil || rep.GroupCreated || len(rep.Created) != 0 || len(rep.Existing) != 8 {
		t.Errorf("second run = %+v, %v", rep, err)
	}
	problems, err := c.Preflight(context.Background(), map[string][]string{"companies": {"healthsync_band", "hs_lastmodifieddate", "nope"}})
	want := []record.FieldProblem{{Object: "companies", Field: "hs_lastmodifieddate", Problem: "is not writable"}, {Object: "companies", Field: "nope", Problem: "does not exist"}}
	if err != nil || !slices.Equal(problems, want) {
		t.Errorf("preflight = %+v, %v; want %+v", problems, err, want)
	}
}

func TestTaskDedupe(t *testing.T) {
	srv := hubspottest.NewServer(hubspottest.Options{AccessToken: testToken})
	defer srv.Close()
	co := srv.Seed("companies", hubspottest.Object{Properties: map[string]string{"name": "c"}})
	task := record.Task{AccountID: co, OwnerID: "77", Subject: "Check in", Body: "Health dropped.", Due: t0, Priority: "high", DedupeKey: "risk-" + co}
	c, _ := newClient(t, testConfig(srv.URL), nil)
	res, err := c.CreateTasks(context.Background(), []record.Task{task, task})
	if err != nil || len(res) != 1 || res[0].Error != nil || res[0].Key != task.DedupeKey || res[0].ID == "" {
		t.Fatalf("create = %+v, %v", res, err)
	}
	stored, _ := srv.Get("tasks", res[0].ID)
	wantProps := map[string]string{"hs_task_subject": "Check in", "hs_task_body": "Health dropped.\n\n[healthsync:risk-" + co + "]",
		"hs_task_status": "NOT_STARTED", "hs_task_priority": "HIGH", "hs_timestamp": "1740830400000", "hubspot_owner_id": "77"}
	for k, v := range wantProps {
		if stored.Properties[k] != v {
			t.Errorf("%s = %q, want %q", k, stored.Properties[k], v)
		}
	}
	if a := stored.Associations["companies"]; len(a) != 1 || a[0].ID != co || a[0].TypeID != TaskToCompany {
		t.Errorf("associations = %+v", stored.Associations)
	}
	// A new process (no memory) must not create it again.
	c2, _ := newClient(t, testConfig(srv.URL), nil)
	res2, err := c2.CreateTasks(context.Background(), []record.Task{task})
	if err != nil || len(res2) != 1 || res2[0].ID != res[0].ID {
		t.Fatalf("second create = %+v, %v", res2, err)
	}
	if n := len(srv.Objects("tasks")); n != 1 {
		t.Errorf("tasks = %d, want 1", n)
	}
	// The tasks stream returns it with its key; completed, it disappears.
	bs, err := collect(t, c2, record.PullRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got := summarize(bs)["tasks"].tasks; !slices.Equal(got, []string{task.DedupeKey}) {
		t.Errorf("pulled tasks = %v", got)
	}
	task.ID, task.Note = res[0].ID, "Closed by healthsync: recovered."
	if res, err := c2.CompleteTasks(context.Background(), []record.Task{task}); err != nil || res[0].Error != nil {
		t.Fatalf("complete = %+v, %v", res, err)
	}
	stored, _ = srv.Get("tasks", task.ID)
	if stored.Properties["hs_task_status"] != "COMPLETED" || !strings.Contains(stored.Properties["hs_task_body"], "recovered.\n\n[healthsync:") {
		t.Errorf("completed task = %v", stored.Properties)
	}
}

func TestOAuthRefresh(t *testing.T) {
	now := t0
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	srv := hubspottest.NewServer(hubspottest.Options{ClientID: "cid", ClientSecret: "csecret", RefreshToken: "rtok", Now: clock})
	defer srv.Close()
	id := srv.Seed("companies", hubspottest.Object{Properties: map[string]string{"name": "c"}})
	cfg := testConfig(srv.URL)
	cfg.Auth = config.Auth{ClientID: "cid", ClientSecret: config.NewSecret("csecret"), RefreshToken: config.NewSecret("rtok")}
	c, _ := newClient(t, cfg, clock)

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := c.Fetch(context.Background(), "companies", id); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := srv.TokensIssued(); n != 1 {
		t.Errorf("tokens after concurrent first calls = %d, want 1 (single flight)", n)
	}
	mu.Lock()
	now = now.Add(26 * time.Minute) // within 5 minutes of the 30-minute expiry
	mu.Unlock()
	if _, err := c.Fetch(context.Background(), "companies", id); err != nil {
		t.Fatal(err)
	}
	if n := srv.TokensIssued(); n != 2 {
		t.Errorf("tokens after nearing expiry = %d, want 2 (refresh ahead)", n)
	}
	srv.ExpireTokens()
	if _, err := c.Fetch(context.Background(), "companies", id); err != nil {
		t.Fatalf("after revocation: %v", err)
	}
	if n := srv.TokensIssued(); n != 3 {
		t.Errorf("tokens after a 401 = %d, want 3 (refresh once on 401)", n)
	}
}

func TestWebhookSignatureV3(t *testing.T) {
	const secret = "app-client-secret"
	const target = "https://hooks.example.com/webhooks/hubspot?portal=62515"
	body := []byte(`[{"eventId":100,"subscriptionId":7,"portalId":62515,"appId":1,"occurredAt":1740830400000,"subscriptionType":"company.propertyChange","attemptNumber":0,"objectId":1234,"propertyName":"name","propertyValue":"Acme","changeSource":"CRM"}]`)
	now := t0.Add(time.Minute)
	v, err := NewVerifier(config.Webhook{ClientSecret: config.NewSecret(secret)}, "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		secret  string
		body    []byte
		ts      time.Time
		sent    []byte
		wantErr error
	}{
		{name: "valid", secret: secret, body: body, ts: t0},
		{name: "tampered body", secret: secret, body: body, ts: t0, sent: []byte(strings.Replace(string(body), "Acme", "Evil", 1)), wantErr: record.ErrUnauthenticated},
		{name: "stale timestamp", secret: secret, body: body, ts: now.Add(-6 * time.Minute), wantErr: record.ErrUnauthenticated},
		{name: "wrong secret", secret: "other-secret", body: body, ts: t0, wantErr: record.ErrUnauthenticated},
		{name: "malformed body", secret: secret, body: []byte(`{"not":"an array"}`), ts: t0, wantErr: record.ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sent := tc.sent
			if sent == nil {
				sent = tc.body
			}
			r := httptest.NewRequest("POST", target, strings.NewReader(string(sent)))
			r.Header.Set("X-Forwarded-Proto", "https")
			r.Header.Set("X-HubSpot-Signature-v3", hubspottest.SignV3(tc.secret, "POST", target, tc.body, tc.ts))
			r.Header.Set("X-HubSpot-Request-Timestamp", hubspottest.TimestampHeader(tc.ts))
			evs, err := v.Verify(r, sent, now)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := record.Event{System: "hubspot", ID: "62515:7:company.propertyChange:1234:name:1740830400000", Type: "company.propertyChange", ObjectType: "company", ObjectID: "1234",
				Occurred: t0, Fields: map[string]string{"name": "Acme"}}
			if len(evs) != 1 || evs[0].ID != want.ID || evs[0].Type != want.Type || evs[0].ObjectType != want.ObjectType ||
				evs[0].ObjectID != want.ObjectID || !evs[0].Occurred.Equal(want.Occurred) || evs[0].Fields["name"] != "Acme" {
				t.Errorf("events = %+v, want %+v", evs, want)
			}
		})
	}
}

// TestWebhookURIDecoding: HubSpot signs the URI with %3A, %2F, %3F, %40,
// %21, %24, %27, %28, %29, %2A, %2C and %3B decoded.
func TestWebhookURIDecoding(t *testing.T) {
	const secret = "s3cret"
	raw := "https://hooks.example.com/hs?next=a%3Ab%2Cc&x=%20"
	signed := "https://hooks.example.com/hs?next=a:b,c&x=%20"
	v, _ := NewVerifier(config.Webhook{ClientSecret: config.NewSecret(secret)}, "")
	r := httptest.NewRequest("POST", raw, strings.NewReader("[]"))
	r.Header.Set("X-Forwarded-Proto", "https")
	r.Header.Set("X-HubSpot-Signature-v3", hubspottest.SignV3(secret, "POST", signed, []byte("[]"), t0))
	r.Header.Set("X-HubSpot-Request-Timestamp", hubspottest.TimestampHeader(t0))
	if _, err := v.Verify(r, []byte("[]"), t0); err != nil {
		t.Errorf("verify: %v", err)
	}
}

// TestTasksPullIncrementally: after a full read of the open tasks, a pull
// with the stored cursor searches only the tasks modified since, a task
// completed in HubSpot included (as completed), not every open task.
func TestTasksPullIncrementally(t *testing.T) {
	now := t0
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	srv := hubspottest.NewServer(hubspottest.Options{AccessToken: testToken, Now: clock})
	defer srv.Close()
	a := srv.Seed("companies", hubspottest.Object{Properties: map[string]string{"name": "a"}})
	b := srv.Seed("companies", hubspottest.Object{Properties: map[string]string{"name": "b"}})
	c, _ := newClient(t, testConfig(srv.URL), clock)
	ctx := context.Background()
	res, err := c.CreateTasks(ctx, []record.Task{
		{AccountID: a, Subject: "Call a", Due: t0, Priority: "high", DedupeKey: "call-a"},
		{AccountID: b, Subject: "Call b", Due: t0, Priority: "high", DedupeKey: "call-b"},
	})
	if err != nil || len(res) != 2 {
		t.Fatalf("create = %+v, %v", res, err)
	}
	type read struct {
		Full bool
		Keys []string
		Open []bool
	}
	cursors := map[string][]byte{}
	steps := []struct {
		name   string
		change func()
		want   read
	}{
		{"first pull: every open task", nil, read{true, []string{"call-a", "call-b"}, []bool{true, true}}},
		{"nothing changed", nil, read{false, []string{}, []bool{}}},
		{"one completed in HubSpot", func() {
			if _, err := c.CompleteTasks(ctx, []record.Task{{Ref: record.Ref{ID: res[0].ID}, DedupeKey: "call-a", Note: "done"}}); err != nil {
				t.Fatal(err)
			}
		}, read{false, []string{"call-a"}, []bool{false}}},
	}
	for _, s := range steps {
		advance(10 * time.Minute) // past the search's overlap
		if s.change != nil {
			s.change()
			advance(time.Minute)
		}
		bs, err := collect(t, c, record.PullRequest{Cursors: cursors, Now: clock()})
		if err != nil {
			t.Fatal(err)
		}
		got := read{Full: true, Keys: []string{}, Open: []bool{}}
		for _, bt := range bs {
			if bt.Cursor != nil {
				cursors[bt.Stream] = bt.Cursor
			}
			if bt.Stream != StreamTasks {
				continue
			}
			got.Full = got.Full && bt.Full
			for _, tk := range bt.Tasks {
				got.Keys = append(got.Keys, tk.DedupeKey)
				got.Open = append(got.Open, tk.Status == record.TaskOpen)
			}
		}
		if !slices.Equal(got.Keys, s.want.Keys) || !slices.Equal(got.Open, s.want.Open) || got.Full != s.want.Full {
			t.Errorf("%s: task stream read %+v, want %+v", s.name, got, s.want)
		}
	}
}
