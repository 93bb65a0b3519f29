package webhook

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/connectors/stripe"
	"github.com/healthsync/healthsync/connectors/stripe/stripetest"
	"github.com/healthsync/healthsync/sync/store/bolt"
)

const stripeSecret = "whsec_accept_test"

var acceptNow = time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)

// storeSignals stores signals in the real store, as the daemon does.
type storeSignals struct{ st *bolt.Store }

func (s storeSignals) AddSignals(sg []record.Signal) error { _, err := s.st.AddSignals(sg); return err }

// stripeHandler is the receiver with the real Stripe verifier and the real
// store behind it.
func stripeHandler(st *bolt.Store, m *Metrics) *Handler {
	v := stripe.NewVerifier(config.Webhook{Secrets: []config.Secret{config.NewSecret(stripeSecret)}})
	return NewHandler(Options{
		Sources: []Source{{Connector: "billing", Kind: "stripe", Verifier: v, ContentTypes: []string{"application/json"}}},
		Queue:   st, Metrics: m, Now: func() time.Time { return acceptNow },
		Signals: &SignalsEndpoint{Token: config.NewSecret("sig-token"), Store: storeSignals{st}},
	})
}

func stripeEvent(id string, created int64) string {
	js, _ := json.Marshal(id)
	return fmt.Sprintf(`{"id":%s,"object":"event","type":"invoice.payment_failed","created":%d,`+
		`"data":{"object":{"id":"in_1","object":"invoice","customer":"cus_1"}}}`, js, created)
}

func postStripe(h http.Handler, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", "/webhooks/stripe", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", stripetest.SignPayload([]byte(body), stripeSecret, acceptNow))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func postSignals(h http.Handler, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", "/v1/signals", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer sig-token")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestVerifiedButUnacceptable: authentic payloads healthsync cannot store get
// a 4xx with the reason and are counted, not a 5xx the vendor retries for
// days; a good one is queued.
func TestVerifiedButUnacceptable(t *testing.T) {
	longID := "evt_" + strings.Repeat("x", 40<<10)
	tests := []struct {
		name     string
		post     func(h http.Handler) *httptest.ResponseRecorder
		status   int
		body     string
		queued   int
		rejected map[[2]string]float64
	}{
		{"good event", func(h http.Handler) *httptest.ResponseRecorder {
			return postStripe(h, stripeEvent("evt_1", acceptNow.Unix()))
		},
			200, `{"received":true}`, 1, nil},
		{"timestamp beyond year 9999", func(h http.Handler) *httptest.ResponseRecorder {
			return postStripe(h, stripeEvent("evt_2", 253402300800)) // 10000-01-01
		}, 422, `{"error":"event 0 time is outside the years 1677 to 2262: unacceptable payload"}` + "\n", 0,
			map[[2]string]float64{{"stripe", "unacceptable"}: 1}},
		{"40 KB event ID", func(h http.Handler) *httptest.ResponseRecorder {
			return postStripe(h, stripeEvent(longID, acceptNow.Unix()))
		},
			422, `{"error":"event 0 id is 40964 bytes, the limit is 1024: unacceptable payload"}` + "\n", 0,
			map[[2]string]float64{{"stripe", "unacceptable"}: 1}},
		{"NUL in an event ID", func(h http.Handler) *httptest.ResponseRecorder {
			return postStripe(h, stripeEvent("evt_\u0000x", acceptNow.Unix()))
		}, 422, `{"error":"event 0 id contains a NUL byte: unacceptable payload"}` + "\n", 0,
			map[[2]string]float64{{"stripe", "unacceptable"}: 1}},
		{"NUL in a signal metric", func(h http.Handler) *httptest.ResponseRecorder {
			return postSignals(h, `{"signals":[{"account":"salesforce/001A","metric":"log\u0000ins","value":3,"time":"2026-11-20T09:00:00Z"}]}`)
		}, 400, `{"error":"signals[0].metric contains a NUL byte"}` + "\n", 0,
			map[[2]string]float64{{"signals", "malformed"}: 1}},
		{"signal time the store cannot key", func(h http.Handler) *httptest.ResponseRecorder {
			return postSignals(h, `{"signals":[{"account":"salesforce/001A","metric":"logins","value":3,"time":"9999-12-31T00:00:00Z"}]}`)
		}, 400, `{"error":"signals[0].time is outside the years 1677 to 2262"}` + "\n", 0,
			map[[2]string]float64{{"signals", "malformed"}: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := openStore(t, filepath.Join(t.TempDir(), "h.db"))
			defer st.Close()
			m := NewMetrics(nil)
			rec := tt.post(stripeHandler(st, m))
			if rec.Code != tt.status || rec.Body.String() != tt.body {
				t.Fatalf("got %d %q, want %d %q", rec.Code, rec.Body, tt.status, tt.body)
			}
			if got := depth(t, st); got != tt.queued {
				t.Fatalf("queued %d, want %d", got, tt.queued)
			}
			for _, labels := range [][2]string{{"stripe", "unacceptable"}, {"signals", "malformed"}, {"stripe", "store"}} {
				if got, want := counterValue(t, m.Rejected.WithLabelValues(labels[0], labels[1])), tt.rejected[labels]; got != want {
					t.Errorf("rejected%v = %v, want %v", labels, got, want)
				}
			}
		})
	}
}

// TestStoreUnavailableIs5xx: a failure of healthsync's own still answers 503
// so the vendor retries.
func TestStoreUnavailableIs5xx(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "h.db"))
	m := NewMetrics(nil)
	h := stripeHandler(st, m)
	st.Close()
	if rec := postStripe(h, stripeEvent("evt_1", acceptNow.Unix())); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("webhook with the store closed: %d %q, want 503", rec.Code, rec.Body)
	}
	if rec := postSignals(h, `{"signals":[{"account":"salesforce/001A","metric":"logins","value":3,"time":"2026-11-20T09:00:00Z"}]}`); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("signals with the store closed: %d %q, want 503", rec.Code, rec.Body)
	}
	for _, v := range []string{"stripe", "signals"} {
		if got := counterValue(t, m.Rejected.WithLabelValues(v, "store")); got != 1 {
			t.Errorf("rejected{%s,store} = %v, want 1", v, got)
		}
	}
}

// counterValue reads a counter.
func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// TestSignalSystems pins which systems a signal's account key may name: the
// wired list when given (its names in the message), else any lower-case
// system name.
func TestSignalSystems(t *testing.T) {
	listed := &SignalsEndpoint{Systems: []string{"crm", "billing", "external"}}
	open := &SignalsEndpoint{}
	tests := []struct {
		name    string
		s       *SignalsEndpoint
		account string
		want    record.Ref
		wantErr string
	}{
		{"listed system", listed, `"crm/001"`, record.Ref{System: "crm", ID: "001"}, ""},
		{"listed system as object", listed, `{"system":"billing","id":"cus_1"}`, record.Ref{System: "billing", ID: "cus_1"}, ""},
		{"unlisted system", listed, `"zendesk/9"`, record.Ref{}, `want "system/id" with system crm, billing or external`},
		{"unlisted system as object", listed, `{"system":"zendesk","id":"9"}`, record.Ref{}, `want "system/id" or {"system":..., "id":...}`},
		{"no list: any lower-case system", open, `"zendesk/9"`, record.Ref{System: "zendesk", ID: "9"}, ""},
		{"no list: not a system name", open, `"Zen Desk/9"`, record.Ref{}, `want "system/id" with system a lower-case system name`},
		{"no id", listed, `"crm/"`, record.Ref{}, `want "system/id" with system crm, billing or external`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.s.parseAccount(json.RawMessage(tt.account))
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if got != tt.want || gotErr != tt.wantErr {
				t.Errorf("parseAccount(%s) = %+v, %q; want %+v, %q", tt.account, got, gotErr, tt.want, tt.wantErr)
			}
		})
	}
}

// TestOrderKey pins the queue key: the verifier's OrderKey under the
// connector, else the object.
func TestOrderKey(t *testing.T) {
	tests := []struct {
		name string
		ev   record.Event
		want string
	}{
		{"verifier's key", record.Event{ObjectType: "invoice", ObjectID: "in_1", OrderKey: "customer/cus_1"}, "billing/customer/cus_1"},
		{"object", record.Event{ObjectType: "invoice", ObjectID: "in_1"}, "billing/invoice/in_1"},
		{"payload is not read", record.Event{ObjectType: "invoice", ObjectID: "in_2", Object: []byte(`{"customer":"cus_2"}`)}, "billing/invoice/in_2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := OrderKey("billing", tt.ev); got != tt.want {
				t.Errorf("OrderKey = %q, want %q", got, tt.want)
			}
		})
	}
}
