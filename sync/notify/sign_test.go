package notify

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

// The Standard Webhooks specification's published test vector.
const (
	vecSecret  = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vecID      = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vecTS      = 1614265330
	vecPayload = `{"test": 2432232314}`
	vecSig     = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignReferenceVector(t *testing.T) {
	got := Sign(vecSecret, vecID, time.Unix(vecTS, 0), []byte(vecPayload))
	if got != vecSig {
		t.Fatalf("Sign = %s, want %s", got, vecSig)
	}
}

func TestVerify(t *testing.T) {
	now := time.Unix(vecTS, 0)
	good := func() http.Header {
		h := http.Header{}
		h.Set(HeaderID, vecID)
		h.Set(HeaderTimestamp, "1614265330")
		h.Set(HeaderSignature, vecSig)
		return h
	}
	tests := []struct {
		name   string
		header func() http.Header
		body   string
		now    time.Time
		secret string
		ok     bool
	}{
		{"valid", good, vecPayload, now, vecSecret, true},
		{"valid among several signatures", func() http.Header {
			h := good()
			h.Set(HeaderSignature, "v1,bm90IGl0 "+vecSig)
			return h
		}, vecPayload, now, vecSecret, true},
		{"tampered body", good, `{"test": 2432232315}`, now, vecSecret, false},
		{"wrong secret", good, vecPayload, now, "whsec_" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", false},
		{"stale", good, vecPayload, now.Add(6 * time.Minute), vecSecret, false},
		{"future", good, vecPayload, now.Add(-6 * time.Minute), vecSecret, false},
		{"tampered id", func() http.Header { h := good(); h.Set(HeaderID, "msg_other"); return h }, vecPayload, now, vecSecret, false},
		{"missing signature", func() http.Header { h := good(); h.Del(HeaderSignature); return h }, vecPayload, now, vecSecret, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.secret, tt.header(), []byte(tt.body), tt.now, 5*time.Minute)
			if (err == nil) != tt.ok {
				t.Fatalf("Verify = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrVerification) {
				t.Fatalf("error %v does not wrap ErrVerification", err)
			}
		})
	}
}
