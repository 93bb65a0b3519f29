package segment

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// BenchmarkVerifyAndMap measures the receiver's CPU work per Segment call:
// X-Signature check and parse of a 100-call batch (identify, group and
// mapped track calls of 20 accounts, about 200 bytes each), then mapping
// into links, value signals and distinct counts on a MemoryState. It
// reports events/s; durable storage is the store's and not included.
func BenchmarkVerifyAndMap(b *testing.B) {
	const n = 100
	t0 := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	calls := make([]map[string]any, 0, n)
	events := []string{"Logged In", "Feature Used", "Seats Added", "Report Exported"}
	for i := range n {
		user, group := fmt.Sprintf("u-%d", i%40), fmt.Sprintf("g-%d", i%20)
		c := map[string]any{"messageId": fmt.Sprintf("m-%d", i), "userId": user,
			"timestamp": t0.Add(time.Duration(i) * time.Minute).Format(time.RFC3339Nano)}
		switch {
		case i < 20:
			c["type"], c["groupId"] = "group", group
			c["traits"] = map[string]any{"name": group, "salesforce_id": "001" + group}
		case i < 40:
			c["type"], c["traits"] = "identify", map[string]any{"email": user + "@example.com"}
			c["context"] = map[string]any{"groupId": group}
		default:
			c["type"], c["event"] = "track", events[i%len(events)]
			c["properties"] = map[string]any{"feature": fmt.Sprintf("f%d", i%7), "seats": i % 5}
		}
		calls = append(calls, c)
	}
	body, _ := json.Marshal(map[string]any{"batch": calls})
	v := NewVerifier(testConfig())
	m, err := NewMapper(testConfig(), NewMemoryState())
	if err != nil {
		b.Fatal(err)
	}
	sig := sign(testSecret, body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		got, err := v.Verify(request(body, sig), body, t0)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.Map(got); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
}
