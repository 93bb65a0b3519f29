package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
	"github.com/healthsync/healthsync/sync/store/bolt"
)

const testSecret = "whsec_test"

// hmacVerifier is a minimal vendor: X-Sig = hex HMAC-SHA256(body); the body
// is {"id","object_id","customer"}; events are ordered by customer.
type hmacVerifier struct{}

func (hmacVerifier) Verify(r *http.Request, body []byte, now time.Time) ([]record.Event, error) {
	mac := hmac.New(sha256.New, []byte(testSecret))
	mac.Write(body)
	want := hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(r.Header.Get("X-Sig")), []byte(want)) {
		return nil, fmt.Errorf("%w: bad signature", record.ErrUnauthenticated)
	}
	var in struct {
		ID       string `json:"id"`
		ObjectID string `json:"object_id"`
		Customer string `json:"customer"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.ID == "" {
		return nil, fmt.Errorf("%w: %v", record.ErrMalformed, err)
	}
	obj, _ := json.Marshal(map[string]string{"customer": in.Customer})
	ev := record.Event{System: "stripe", ID: in.ID, Type: "invoice.payment_failed", ObjectType: "invoice", ObjectID: in.ObjectID, Object: obj, Occurred: now}
	if in.Customer != "" {
		// The verifier, not the receiver, knows where the payload names
		// its customer.
		ev.OrderKey = record.CustomerOrderKey(in.Customer)
	}
	return []record.Event{ev}, nil
}

func sign(body string) string {
	mac := hmac.New(sha256.New, []byte(testSecret))
	mac.Write([]byte(body))
	return hex.EncodeToString(mac.Sum(nil))
}

func openStore(t testing.TB, path string) *bolt.Store {
	t.Helper()
	st, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func newHandler(st *bolt.Store) *Handler {
	return NewHandler(Options{
		Sources: []Source{{Connector: "billing", Kind: "stripe", Verifier: hmacVerifier{}, ContentTypes: []string{"application/json"}}},
		Queue:   st, MaxBody: 1024,
		Signals: &SignalsEndpoint{Token: config.NewSecret("sig-token"), Store: signalSink{st}},
	})
}

type signalSink struct{ st *bolt.Store }

func (s signalSink) AddSignals(sg []record.Signal) error { return nil }

func post(h http.Handler, path, ctype, sig, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", path, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if sig != "" {
		req.Header.Set("X-Sig", sig)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func depth(t *testing.T, st *bolt.Store) int {
	q, _, err := st.QueueDepth()
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestReceive(t *testing.T) {
	good := `{"id":"evt_1","object_id":"in_1","customer":"cus_1"}`
	tests := []struct {
		name      string
		path      string
		ctype     string
		sig       string
		body      string
		status    int
		wantQueue int
	}{
		{"valid by kind path", "/webhooks/stripe", "application/json", sign(good), good, 200, 1},
		{"valid by connector path", "/webhooks/billing", "application/json; charset=utf-8", sign(good), good, 200, 1},
		{"unknown vendor", "/webhooks/zuora", "application/json", sign(good), good, 404, 0},
		{"wrong content type", "/webhooks/stripe", "text/plain", sign(good), good, 415, 0},
		{"missing content type", "/webhooks/stripe", "", sign(good), good, 415, 0},
		{"tampered body", "/webhooks/stripe", "application/json", sign(good), strings.Replace(good, "in_1", "in_2", 1), 401, 0},
		{"no signature", "/webhooks/stripe", "application/json", "", good, 401, 0},
		{"malformed but signed", "/webhooks/stripe", "application/json", sign(`{"nope":1}`), `{"nope":1}`, 400, 0},
		{"too large", "/webhooks/stripe", "application/json", "x", `{"pad":"` + strings.Repeat("a", 2000) + `"}`, 413, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := openStore(t, filepath.Join(t.TempDir(), "h.db"))
			defer st.Close()
			rec := post(newHandler(st), tt.path, tt.ctype, tt.sig, tt.body)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d (%s)", rec.Code, tt.status, rec.Body)
			}
			if got := depth(t, st); got != tt.wantQueue {
				t.Fatalf("queued %d, want %d", got, tt.wantQueue)
			}
			if tt.status == 401 && strings.Contains(rec.Body.String(), "signature") {
				t.Errorf("401 body says why: %q", rec.Body)
			}
		})
	}
}

func TestDuplicateDelivery(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "h.db"))
	defer st.Close()
	h := newHandler(st)
	body := `{"id":"evt_dup","object_id":"in_1","customer":"cus_1"}`
	for i := 0; i < 3; i++ {
		if rec := post(h, "/webhooks/stripe", "application/json", sign(body), body); rec.Code != 200 {
			t.Fatalf("delivery %d: %d", i, rec.Code)
		}
	}
	if got := depth(t, st); got != 1 {
		t.Fatalf("queued %d, want 1", got)
	}
}

func TestSignalsEndpoint(t *testing.T) {
	tests := []struct {
		name   string
		auth   string
		body   string
		status int
		queued int
	}{
		{"valid", "Bearer sig-token", `{"signals":[{"account":"salesforce/001A","metric":"logins","value":3,"time":"2026-11-20T09:00:00Z"},{"account":{"system":"salesforce","id":"001A"},"metric":"nps","value":9,"time":"2026-11-20T09:00:00Z"}]}`, 202, 1},
		{"wrong token", "Bearer nope", `{"signals":[]}`, 401, 0},
		{"no token", "", `{"signals":[]}`, 401, 0},
		{"bad account", "Bearer sig-token", `{"signals":[{"account":"001A","metric":"logins","value":3,"time":"2026-11-20T09:00:00Z"}]}`, 400, 0},
		{"missing value", "Bearer sig-token", `{"signals":[{"account":"salesforce/001A","metric":"logins","time":"2026-11-20T09:00:00Z"}]}`, 400, 0},
		{"unknown key", "Bearer sig-token", `{"signals":[],"x":1}`, 400, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := openStore(t, filepath.Join(t.TempDir(), "h.db"))
			defer st.Close()
			req := httptest.NewRequest("POST", "/v1/signals", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			rec := httptest.NewRecorder()
			newHandler(st).ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if got := depth(t, st); got != tt.queued {
				t.Fatalf("queued %d, want %d", got, tt.queued)
			}
		})
	}
}

// recorder is a Processor that records the order events were processed in
// and fails the first n attempts of events whose ID starts with "fail".
type recorder struct {
	mu       sync.Mutex
	order    []string
	failures map[string]int
	inFlight map[string]bool
	overlap  bool
}

func (r *recorder) Process(ctx context.Context, ev store.QueuedEvent) (bool, error) {
	r.mu.Lock()
	if r.inFlight[ev.Key] {
		r.overlap = true
	}
	r.inFlight[ev.Key] = true
	r.mu.Unlock()
	time.Sleep(time.Millisecond)
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.inFlight, ev.Key)
	if n := r.failures[ev.Event.ID]; n > 0 {
		r.failures[ev.Event.ID] = n - 1
		return false, errors.New("vendor unavailable")
	}
	if strings.HasPrefix(ev.Event.ID, "perm") {
		return false, fmt.Errorf("object gone: %w", ErrPermanent)
	}
	r.order = append(r.order, ev.Event.ID)
	return true, nil
}

func runUntil(t *testing.T, w *Workers, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatal("condition not reached")
		}
		time.Sleep(2 * time.Millisecond)
	}
	cancel()
	<-done
}

func TestWorkersOrderPerAccount(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "h.db"))
	defer st.Close()
	h := newHandler(st)
	// Two customers, interleaved; per customer the order must hold.
	var want = map[string][]string{}
	for i := 0; i < 20; i++ {
		cus := fmt.Sprintf("cus_%d", i%2)
		id := fmt.Sprintf("evt_%02d", i)
		body := fmt.Sprintf(`{"id":%q,"object_id":"in_%d","customer":%q}`, id, i, cus)
		if rec := post(h, "/webhooks/stripe", "application/json", sign(body), body); rec.Code != 200 {
			t.Fatal(rec.Code)
		}
		want[cus] = append(want[cus], id)
	}
	rec := &recorder{failures: map[string]int{"evt_04": 2}, inFlight: map[string]bool{}}
	w := NewWorkers(WorkerOptions{Queue: st, Processor: rec, Workers: 4, RetryMin: time.Millisecond, RetryMax: 2 * time.Millisecond, Poll: time.Millisecond})
	runUntil(t, w, func() bool { rec.mu.Lock(); defer rec.mu.Unlock(); return len(rec.order) == 20 })
	if rec.overlap {
		t.Fatal("two events of one customer were processed at once")
	}
	got := map[string][]string{}
	for _, id := range rec.order {
		var n int
		fmt.Sscanf(id, "evt_%d", &n)
		cus := fmt.Sprintf("cus_%d", n%2)
		got[cus] = append(got[cus], id)
	}
	for cus := range want {
		if strings.Join(got[cus], ",") != strings.Join(want[cus], ",") {
			t.Errorf("%s processed %v, want %v", cus, got[cus], want[cus])
		}
	}
}

func TestDeadLetterAndReplay(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "h.db"))
	defer st.Close()
	h := newHandler(st)
	for _, id := range []string{"fail_1", "perm_1", "ok_1"} {
		body := fmt.Sprintf(`{"id":%q,"object_id":"x_%s","customer":"c_%s"}`, id, id, id)
		post(h, "/webhooks/stripe", "application/json", sign(body), body)
	}
	rec := &recorder{failures: map[string]int{"fail_1": 100}, inFlight: map[string]bool{}}
	w := NewWorkers(WorkerOptions{Queue: st, Processor: rec, MaxAttempts: 3, RetryMin: time.Millisecond, RetryMax: time.Millisecond, Poll: time.Millisecond})
	runUntil(t, w, func() bool {
		q, dead, _ := st.QueueDepth()
		return q == 0 && dead == 2
	})
	dls, err := st.DeadLetters()
	if err != nil || len(dls) != 2 {
		t.Fatalf("dead letters %v, %v", dls, err)
	}
	// Replay the transient one once the vendor is back.
	rec.mu.Lock()
	rec.failures["fail_1"] = 0
	rec.mu.Unlock()
	for _, d := range dls {
		if d.Event.ID == "fail_1" {
			if _, err := st.Replay(d.Seq); err != nil {
				t.Fatal(err)
			}
		}
	}
	runUntil(t, w, func() bool { rec.mu.Lock(); defer rec.mu.Unlock(); return len(rec.order) == 2 })
	if got := strings.Join(rec.order, ","); got != "ok_1,fail_1" {
		t.Fatalf("processed %s", got)
	}
}

// TestKill9BetweenPersistAndProcessing: a child process acknowledges a
// webhook (so it is on disk) and is killed with SIGKILL before any worker
// runs; after a restart the event is processed exactly once.
func TestKill9BetweenPersistAndProcessing(t *testing.T) {
	if os.Getenv("HEALTHSYNC_KILL_CHILD") != "" {
		return
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "h.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKill9Child$", "-test.v")
	cmd.Env = append(os.Environ(), "HEALTHSYNC_KILL_CHILD="+path)
	var out bytes.Buffer
	pr, pw, _ := os.Pipe()
	cmd.Stdout, cmd.Stderr = pw, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	buf := make([]byte, 4096)
	var seen string
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(seen, "ACKED 200") {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("child did not ack: %s %s", seen, out.String())
		}
		n, err := pr.Read(buf)
		seen += string(buf[:n])
		if err != nil {
			break
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	st := openStore(t, path)
	defer st.Close()
	rec := &recorder{failures: map[string]int{}, inFlight: map[string]bool{}}
	w := NewWorkers(WorkerOptions{Queue: st, Processor: rec, Poll: time.Millisecond})
	runUntil(t, w, func() bool { rec.mu.Lock(); defer rec.mu.Unlock(); return len(rec.order) == 1 })
	// A redelivery after the restart is a duplicate.
	body := `{"id":"evt_kill","object_id":"in_k","customer":"cus_k"}`
	if code := post(newHandler(st), "/webhooks/stripe", "application/json", sign(body), body).Code; code != 200 {
		t.Fatal(code)
	}
	if got := depth(t, st); got != 0 {
		t.Fatalf("redelivered event queued again (%d)", got)
	}
	if got := strings.Join(rec.order, ","); got != "evt_kill" {
		t.Fatalf("processed %q, want evt_kill once", got)
	}
}

func TestKill9Child(t *testing.T) {
	path := os.Getenv("HEALTHSYNC_KILL_CHILD")
	if path == "" {
		t.Skip("helper process for TestKill9BetweenPersistAndProcessing")
	}
	st := openStore(t, path)
	body := `{"id":"evt_kill","object_id":"in_k","customer":"cus_k"}`
	rec := post(newHandler(st), "/webhooks/stripe", "application/json", sign(body), body)
	fmt.Printf("ACKED %d\n", rec.Code)
	time.Sleep(time.Minute) // killed here, store never closed
}
