package fakeapi

import (
	"bytes"
	"io"
	"net/http"
	"time"
)

// Looper is the part of *testing.B that BenchmarkRequest uses (fakeapi
// does not import "testing": the demo links it).
type Looper interface {
	Loop() bool
	Fatalf(format string, args ...any)
}

// BenchmarkRequest sends method url (with body and the given headers,
// alternating key and value) until b.Loop reports the end, reading every
// answer in full; an answer other than 200 fails b. The fakes' paging
// benchmarks measure one page with it.
func BenchmarkRequest(b Looper, method, url string, body []byte, header ...string) {
	for b.Loop() {
		req, err := http.NewRequest(method, url, bytes.NewReader(body))
		if err != nil {
			b.Fatalf("building request: %v", err)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatalf("%s %s: %v", method, url, err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s %s: status %d: %.300s", method, url, resp.StatusCode, msg)
		}
	}
}

// Reporter is the part of *testing.B that ReportBusy uses.
type Reporter interface {
	ReportMetric(n float64, unit string)
}

// ReportBusy reports the fake's serving time (Busy) since since, divided
// over ops operations, as the metric fake-ms/op: the share of a
// benchmark's ns/op that is the fake's, not the code under test.
func (h *Harness) ReportBusy(b Reporter, since time.Duration, ops int) {
	b.ReportMetric(float64(h.Busy()-since)/float64(time.Millisecond)/float64(max(ops, 1)), "fake-ms/op")
}
