package segment

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
)

func verified(t *testing.T, file string) []Call {
	t.Helper()
	body := readTestdata(t, file)
	calls, err := NewVerifier(testConfig()).Verify(request(body, sign(testSecret, body)), body, now)
	if err != nil {
		t.Fatal(err)
	}
	return calls
}

func TestMapBatch(t *testing.T) {
	hooli := record.Ref{System: record.Salesforce, ID: "0015g00000HOOLI"}
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	day2, day3 := at("2026-12-02T00:00:00Z"), at("2026-12-03T00:00:00Z")
	batchResult := Result{
		Signals: []record.Signal{
			{Account: hooli, Metric: "logins", Time: at("2026-12-02T08:05:00Z"), Value: 1},
			{Account: hooli, Metric: "logins", Time: at("2026-12-02T09:05:00Z"), Value: 1},
			{Account: hooli, Metric: "seats_added", Time: at("2026-12-02T09:14:00Z"), Value: 3},
			{Account: hooli, Metric: "active_users", Time: day2, Value: 2},
			{Account: hooli, Metric: "features_used", Time: day2, Value: 2},
		},
		Links:    3,
		Unmapped: map[string]int{"Report Exported": 1},
		Ignored:  1,
	}
	steps := []struct {
		name string
		file string
		want Result
	}{
		{"batch: links, then tracks resolved through them", "batch.json", batchResult},
		{"redelivered batch counts nothing twice", "batch.json", batchResult},
		{"next day: users linked earlier, new window", "actions-batch.json", Result{
			Signals: []record.Signal{
				{Account: hooli, Metric: "logins", Time: at("2026-12-03T08:00:00Z"), Value: 1},
				{Account: hooli, Metric: "logins", Time: at("2026-12-03T08:30:00Z"), Value: 1},
				{Account: hooli, Metric: "active_users", Time: day3, Value: 2},
			},
			Unmapped: map[string]int{},
		}},
	}
	// Each State runs the steps; open gives the State of a (re)started
	// process: the MetaState's links and sets outlive it in the store.
	kv := mapKV{}
	mem := NewMemoryState()
	for _, st := range []struct {
		name string
		open func() State
	}{
		{"memory", func() State { return mem }},
		{"meta, a new process per step", func() State { return NewMetaState(kv, "product") }},
	} {
		t.Run(st.name, func(t *testing.T) {
			for _, s := range steps {
				m, err := NewMapper(testConfig(), st.open())
				if err != nil {
					t.Fatal(err)
				}
				got, err := m.Map(verified(t, s.file))
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, s.want) {
					t.Fatalf("%s:\n got %+v\nwant %+v", s.name, got, s.want)
				}
			}
		})
	}
}

// mapKV is a KV in a map (the store's meta values are pinned by storetest).
type mapKV map[string][]byte

func (m mapKV) Meta(key string) ([]byte, error) { return m[key], nil }
func (m mapKV) SetMeta(key string, val []byte) error {
	m[key] = append([]byte(nil), val...)
	return nil
}

// TestMapSpecPayloads follows one user through the Spec examples: the group
// call links Initech by its website, the identify call puts the user in the
// group through traits.company.id, the track call is then Initech's.
func TestMapSpecPayloads(t *testing.T) {
	initech := record.Ref{System: SystemDomain, ID: "initech.com"}
	cfg := testConfig()
	cfg.Account = AccountRule{By: ByDomain}
	cfg.Events = []EventMetric{{Event: "Logged In", Metric: "logins"}}
	m, err := NewMapper(cfg, NewMemoryState())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		file string
		want Result
	}{
		{"track.json", Result{Unmapped: map[string]int{}, Unresolved: 1}}, // before its user is linked
		{"group.json", Result{Links: 2, Unmapped: map[string]int{}}},
		{"identify.json", Result{Links: 1, Unmapped: map[string]int{}}},
		{"track.json", Result{Unmapped: map[string]int{}, Signals: []record.Signal{
			{Account: initech, Metric: "logins", Time: time.Date(2026, 12, 1, 10, 11, 1, 249e6, time.UTC), Value: 1}}}},
	}
	for _, tc := range tests {
		got, err := m.Map(verified(t, tc.file))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Fatalf("%s:\n got %+v\nwant %+v", tc.file, got, tc.want)
		}
	}
}

func TestMapEdgeCases(t *testing.T) {
	acme := record.Ref{System: record.Salesforce, ID: "001ACME"}
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	group := Call{Type: TypeGroup, UserID: "u1", GroupID: "g1", Traits: map[string]any{"salesforce_id": "001ACME"}, Timestamp: t0}
	tests := []struct {
		name  string
		calls []Call
		want  Result
	}{
		{"group without the account trait is unlinked", []Call{
			{Type: TypeGroup, UserID: "u1", GroupID: "g1", Traits: map[string]any{"name": "Acme"}, Timestamp: t0},
			{Type: TypeTrack, UserID: "u1", Event: "Logged In", Timestamp: t0},
		}, Result{Links: 1, Unlinked: 1, Unresolved: 1, Unmapped: map[string]int{}}},
		{"numeric CRM ID trait", []Call{
			{Type: TypeGroup, GroupID: "g2", AnonymousID: "a", Traits: map[string]any{"salesforce_id": 12345.0}, Timestamp: t0},
			{Type: TypeTrack, AnonymousID: "a", Event: "Logged In", Context: CallContext{GroupID: "g2"}, Timestamp: t0},
		}, Result{Links: 1, BadValues: 1, Unmapped: map[string]int{}, Signals: []record.Signal{
			{Account: record.Ref{System: record.Salesforce, ID: "12345"}, Metric: "logins", Time: t0, Value: 1}}}},
		{"bad values are counted, not stored", []Call{group,
			{Type: TypeTrack, UserID: "u1", Event: "Seats Added", Properties: map[string]any{"seats": "three"}, Timestamp: t0},
			{Type: TypeTrack, UserID: "u1", Event: "Seats Added", Properties: map[string]any{"seats": "NaN"}, Timestamp: t0},
			{Type: TypeTrack, UserID: "u1", Event: "Seats Added", Timestamp: t0},
			{Type: TypeTrack, UserID: "u1", Event: "Feature Used", Properties: map[string]any{"feature": map[string]any{}}, Timestamp: t0},
		}, Result{Links: 2, BadValues: 4, Unmapped: map[string]int{}, Signals: []record.Signal{
			{Account: acme, Metric: "active_users", Time: t0.Truncate(24 * time.Hour), Value: 1}}}},
		{"anonymous track counts no distinct user", []Call{group,
			{Type: TypeTrack, AnonymousID: "anon", Event: "Logged In", Context: CallContext{GroupID: "g1"}, Timestamp: t0},
		}, Result{Links: 2, BadValues: 1, Unmapped: map[string]int{}, Signals: []record.Signal{
			{Account: acme, Metric: "logins", Time: t0, Value: 1}}}},
		{"unmapped events without a * mapping are not resolved", []Call{
			{Type: TypeTrack, UserID: "nobody", Event: "Clicked", Timestamp: t0},
			{Type: TypeTrack, UserID: "nobody", Event: "Clicked", Timestamp: t0},
		}, Result{Unmapped: map[string]int{"Clicked": 2}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			if strings.HasPrefix(tc.name, "unmapped") {
				cfg.Events = cfg.Events[:3]
			}
			m, err := NewMapper(cfg, NewMemoryState())
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.Map(tc.calls)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// failingState fails every call, to check errors are wrapped and nothing
// is returned as mapped.
type failingState struct{}

var errState = errors.New("store closed")

func (failingState) PutLinks([]Link) error { return errState }
func (failingState) Resolve(string, string) (record.Ref, bool, error) {
	return record.Ref{}, false, errState
}
func (failingState) AddDistinct([]Member) (map[DistinctKey]int, error) { return nil, errState }

func TestMapStateErrors(t *testing.T) {
	m, err := NewMapper(testConfig(), failingState{})
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{"batch.json", "actions-batch.json"} {
		got, err := m.Map(verified(t, file))
		if !errors.Is(err, errState) || !reflect.DeepEqual(got, Result{}) {
			t.Fatalf("%s: %+v, %v; want errState and nothing", file, got, err)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"valid", func(*Config) {}, ""},
		{"no secret, no events, bad rule", func(c *Config) {
			c.SharedSecrets, c.Events, c.Account = nil, nil, AccountRule{By: "email"}
		}, "segment connector \"product\":\nwebhook.secrets: at least one shared secret is required (Segment signs with it)\naccount.by: \"email\", want trait or domain\nevents: at least one event mapping is required"},
		{"trait rule needs trait and system", func(c *Config) { c.Account = AccountRule{} },
			"segment connector \"product\":\naccount.trait: required with by: trait (the group trait holding the CRM account ID)\naccount.system: \"\", want salesforce or hubspot"},
		{"mapping problems", func(c *Config) {
			c.Events = append(c.Events,
				EventMetric{Event: "Logged In", Metric: "logins"},
				EventMetric{Event: "X", Metric: "x", Value: "v", DistinctUsers: true},
				EventMetric{Event: "W", Metric: "w", Value: "v", Window: time.Hour},
				EventMetric{Metric: "y", Window: time.Hour},
				EventMetric{Event: "Z"})
		}, "segment connector \"product\":\nevents[4]: event \"Logged In\" already maps to metric \"logins\"\nevents[5]: value, distinct_users and distinct_property are exclusive\nevents[6].window: only for distinct_users or distinct_property, and positive\nevents[7].event: required\nevents[7].window: only for distinct_users or distinct_property, and positive\nevents[8].metric: required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig()
			tc.edit(&c)
			err := c.Validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Fatalf("\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestMapConcurrent maps the same batch from several goroutines at once
// (Segment retries overlap): the distinct counts end where one delivery
// puts them, and -race sees the State's lock at work.
func TestMapConcurrent(t *testing.T) {
	m, err := NewMapper(testConfig(), NewMemoryState())
	if err != nil {
		t.Fatal(err)
	}
	calls := verified(t, "batch.json")
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			_, err := m.Map(calls)
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	got, err := m.Map(calls)
	if err != nil {
		t.Fatal(err)
	}
	day2 := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	hooli := record.Ref{System: record.Salesforce, ID: "0015g00000HOOLI"}
	want := []record.Signal{
		{Account: hooli, Metric: "active_users", Time: day2, Value: 2},
		{Account: hooli, Metric: "features_used", Time: day2, Value: 2},
	}
	if !reflect.DeepEqual(got.Signals[3:], want) {
		t.Fatalf("distinct signals %+v, want %+v", got.Signals[3:], want)
	}
}
