package segment

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
)

var now = time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)

func TestVerifySignatures(t *testing.T) {
	track := readTestdata(t, "track.json")
	batch := readTestdata(t, "batch.json")
	actions := readTestdata(t, "actions-batch.json")
	tampered := append([]byte(`[{"type":"track","messageId":"a-1","userId":"u-eve","event":"Logged In","properties":{},"timestamp":"2026-12-03T08:00:00.000Z"}`), actions[len(firstCallOf(t, actions))+1:]...)
	if !json.Valid(tampered) {
		t.Fatalf("tampered body is not JSON: %s", tampered)
	}
	rotated := testConfig()
	rotated.SharedSecrets = []config.Secret{config.NewSecret("new-secret"), config.NewSecret(testSecret)}
	bodyOnly := testConfig()
	bodyOnly.BodySignatureOnly = true
	none := testConfig()
	none.SharedSecrets = nil

	tests := []struct {
		name  string
		cfg   Config
		body  []byte
		sigs  []string
		calls int
		err   error
	}{
		{"one call signed over the body", testConfig(), track, []string{sign(testSecret, track)}, 1, nil},
		{"upper-case hex", testConfig(), track, []string{upperHex(sign(testSecret, track))}, 1, nil},
		{"batch signed over the body", testConfig(), batch, []string{sign(testSecret, batch)}, 10, nil},
		{"actions array signed over the body", testConfig(), actions, []string{sign(testSecret, actions)}, 2, nil},
		{"actions array signed over its first call", testConfig(), actions, []string{sign(testSecret, firstCallOf(t, actions))}, 2, nil},
		{"body_signature_only: array signed over the body", bodyOnly, actions, []string{sign(testSecret, actions)}, 2, nil},
		{"body_signature_only: array signed over its first call", bodyOnly, actions, []string{sign(testSecret, firstCallOf(t, actions))}, 0, record.ErrUnauthenticated},
		{"second of two secrets (rotation)", rotated, track, []string{sign(testSecret, track)}, 1, nil},
		{"second of two header values", testConfig(), track, []string{"00", sign(testSecret, track)}, 1, nil},
		{"missing signature", testConfig(), track, nil, 0, record.ErrUnauthenticated},
		{"empty signature", testConfig(), track, []string{""}, 0, record.ErrUnauthenticated},
		{"not hex", testConfig(), track, []string{"zz" + sign(testSecret, track)[2:]}, 0, record.ErrUnauthenticated},
		{"wrong secret", testConfig(), track, []string{sign("other", track)}, 0, record.ErrUnauthenticated},
		{"body changed after signing", testConfig(), track[1:], []string{sign(testSecret, track)}, 0, record.ErrUnauthenticated},
		{"SHA-256 instead of SHA-1", testConfig(), track, []string{sign(testSecret, track) + "00000000000000000000000000"}, 0, record.ErrUnauthenticated},
		{"first call changed, signature of the original first call", testConfig(), tampered, []string{sign(testSecret, firstCallOf(t, actions))}, 0, record.ErrUnauthenticated},
		{"first-call signature on an object body", testConfig(), batch, []string{sign(testSecret, firstCallOf(t, actions))}, 0, record.ErrUnauthenticated},
		{"no secret configured", none, track, []string{sign(testSecret, track)}, 0, record.ErrUnauthenticated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls, err := NewVerifier(tc.cfg).Verify(request(tc.body, tc.sigs...), tc.body, now)
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err != nil && strings.Contains(err.Error(), testSecret) {
				t.Fatalf("error reveals the secret: %v", err)
			}
			if len(calls) != tc.calls {
				t.Fatalf("%d calls, want %d", len(calls), tc.calls)
			}
		})
	}
}

func upperHex(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'f' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func TestVerifyParsesSpecPayloads(t *testing.T) {
	ts := func(s string) time.Time { v, _ := time.Parse(time.RFC3339Nano, s); return v }
	tests := []struct {
		file string
		want []Call
	}{
		{"track.json", []Call{{Type: "track", MessageID: "ajs-f8ca1e4de5024d9430b3928bd8ac6b96", UserID: "a1b2c3d4e5f6",
			AnonymousID: "23adfd82-aa0f-45a7-a756-24f2a7a4c895", Event: "Logged In", Properties: map[string]any{"method": "sso"},
			Timestamp: ts("2026-12-01T10:11:01.249Z")}}},
		{"identify.json", []Call{{Type: "identify", MessageID: "022bb90c-bbac-11e4-8dfc-aa07a5b093dc", UserID: "a1b2c3d4e5f6",
			AnonymousID: "507f191e810c19729de860eb", Traits: map[string]any{"name": "Peter Gibbons", "email": "peter@example.com",
				"plan": "premium", "logins": 5.0, "company": map[string]any{"id": "0e8c78ea9d97a7b8185e8632", "name": "Initech"}},
			Timestamp: ts("2026-12-01T09:01:00.111Z")}}},
		{"group.json", []Call{{Type: "group", MessageID: "022bb90c-bbac-11e4-8dfc-aa07a5b093db", UserID: "97980cfea0067",
			AnonymousID: "507f191e810c19729de860ea", GroupID: "0e8c78ea9d97a7b8185e8632", Traits: map[string]any{"name": "Initech",
				"industry": "Technology", "employees": 329.0, "plan": "enterprise", "website": "https://www.initech.com/",
				"salesforce_id": "0015g00000INITC"}, Timestamp: ts("2026-12-01T09:00:00.111Z")}}},
		{"actions-batch.json", []Call{
			{Type: "track", MessageID: "a-1", UserID: "u-ana", Event: "Logged In", Properties: map[string]any{}, Timestamp: ts("2026-12-03T08:00:00Z")},
			{Type: "track", MessageID: "a-2", UserID: "u-ben", Event: "Logged In", Properties: map[string]any{}, Timestamp: ts("2026-12-03T08:30:00Z")},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			body := readTestdata(t, tc.file)
			got, err := NewVerifier(testConfig()).Verify(request(body, sign(testSecret, body)), body, now)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("calls\n got %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

func TestVerifyMalformed(t *testing.T) {
	tests := []struct{ name, body string }{
		{"not JSON", `{"type":"track",`},
		{"empty body", ``},
		{"a string", `"track"`},
		{"empty batch", `{"batch":[]}`},
		{"empty array", `[]`},
		{"track without event", `{"type":"track","userId":"u1"}`},
		{"group without groupId", `{"type":"group","userId":"u1","traits":{}}`},
		{"no userId or anonymousId", `{"type":"identify","traits":{}}`},
		{"no type", `{"userId":"u1","event":"Logged In"}`},
		{"unknown type", `{"type":"purchase","userId":"u1"}`},
		{"bad timestamp", `{"type":"track","userId":"u1","event":"Logged In","timestamp":"yesterday"}`},
		{"userId not a string", `{"type":"track","userId":42,"event":"Logged In"}`},
		{"too many calls", `[{"type":"page","userId":"u"},{"type":"page","userId":"u"},{"type":"page","userId":"u"}]`},
	}
	cfg := testConfig()
	cfg.MaxCalls = 2
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(tc.body)
			calls, err := NewVerifier(cfg).Verify(request(body, sign(testSecret, body)), body, now)
			if !errors.Is(err, record.ErrMalformed) || calls != nil {
				t.Fatalf("calls %v, err %v; want ErrMalformed", calls, err)
			}
		})
	}
}

func TestVerifyTimestampFallbacks(t *testing.T) {
	tests := []struct {
		name, body string
		want       time.Time
	}{
		{"timestamp", `{"type":"track","userId":"u","event":"e","timestamp":"2026-12-01T10:00:00+01:00","receivedAt":"2026-12-01T10:00:05Z"}`, time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)},
		{"originalTimestamp", `{"type":"track","userId":"u","event":"e","originalTimestamp":"2026-12-01T08:00:00Z","receivedAt":"2026-12-01T10:00:05Z"}`, time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)},
		{"receivedAt", `{"type":"track","userId":"u","event":"e","receivedAt":"2026-12-01T10:00:05Z"}`, time.Date(2026, 12, 1, 10, 0, 5, 0, time.UTC)},
		{"none: receipt time", `{"type":"track","userId":"u","event":"e"}`, now},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(tc.body)
			calls, err := NewVerifier(testConfig()).Verify(request(body, sign(testSecret, body)), body, now)
			if err != nil {
				t.Fatal(err)
			}
			if got := calls[0].Timestamp; !got.Equal(tc.want) || got.Location() != time.UTC {
				t.Fatalf("timestamp %v, want %v UTC", got, tc.want)
			}
		})
	}
}
