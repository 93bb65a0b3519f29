package salesforce_test

import (
	"errors"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/connectors/salesforce"
)

// TestOutboundGuards pins the request-level controls of the Outbound
// Message endpoint (issue 13 item 8): allow list, path token, basic
// credentials, the 100-notification cap and per-record coalescing.
func TestOutboundGuards(t *testing.T) {
	sample, err := os.ReadFile("testdata/outbound_opportunity.xml")
	if err != nil {
		t.Fatal(err)
	}
	const org = "00Dxx0000001gEREAY"
	// The sample's first notification repeated n times under fresh Ids.
	notifications := func(n int, sameRecord bool) string {
		s := string(sample)
		start, end := strings.Index(s, "<Notification>"), strings.LastIndex(s, "</Notification>")+len("</Notification>")
		one := s[start : strings.Index(s, "</Notification>")+len("</Notification>")]
		var b strings.Builder
		for i := range n {
			nt := strings.Replace(one, "04lxx000000000AAAQ", "04lxx"+strings.Repeat("0", 9)+string(rune('A'+i%26))+string(rune('A'+i/26%26))+"AAQ", 1)
			if !sameRecord {
				nt = strings.Replace(nt, "006xx000001Sv6tAAC", "006xx00000"+string(rune('A'+i%26))+string(rune('A'+i/26%26))+"Sv6tAAC", 1)
			}
			b.WriteString(nt)
		}
		return s[:start] + b.String() + s[end:]
	}
	full := config.Connector{OrganizationID: org, Webhook: config.Webhook{PathToken: config.NewSecret("tok-0123456789abcdef"),
		Username: "sf", Password: config.NewSecret("pw-0123456789"), AllowedIPs: []string{"96.43.144.0/20", "127.0.0.1"}}}
	tests := []struct {
		name       string
		cc         config.Connector
		path       string
		remote     string
		user, pass string
		body       string
		wantIDs    []string // ObjectIDs of the events
		wantErr    error
	}{
		{name: "all controls pass", cc: full, path: "/webhooks/salesforce/tok-0123456789abcdef", remote: "96.43.150.7:443", user: "sf", pass: "pw-0123456789",
			body: string(sample), wantIDs: []string{"006xx000001Sv6tAAC", "006xx000001Sv6uAAC"}},
		{name: "single allowed address", cc: full, path: "/webhooks/salesforce/tok-0123456789abcdef", remote: "127.0.0.1:5000", user: "sf", pass: "pw-0123456789",
			body: string(sample), wantIDs: []string{"006xx000001Sv6tAAC", "006xx000001Sv6uAAC"}},
		{name: "address outside the allow list", cc: full, path: "/webhooks/salesforce/tok-0123456789abcdef", remote: "203.0.113.9:443", user: "sf", pass: "pw-0123456789",
			body: string(sample), wantErr: record.ErrUnauthenticated},
		{name: "no path token", cc: full, path: "/webhooks/salesforce", remote: "127.0.0.1:1", user: "sf", pass: "pw-0123456789", body: string(sample), wantErr: record.ErrUnauthenticated},
		{name: "wrong path token", cc: full, path: "/webhooks/salesforce/tok-0123456789abcdeg", remote: "127.0.0.1:1", user: "sf", pass: "pw-0123456789", body: string(sample), wantErr: record.ErrUnauthenticated},
		{name: "wrong user", cc: full, path: "/webhooks/salesforce/tok-0123456789abcdef", remote: "127.0.0.1:1", user: "sg", pass: "pw-0123456789", body: string(sample), wantErr: record.ErrUnauthenticated},
		{name: "no credentials", cc: full, path: "/webhooks/salesforce/tok-0123456789abcdef", remote: "127.0.0.1:1", body: string(sample), wantErr: record.ErrUnauthenticated},
		{name: "no token configured, extra segment", cc: config.Connector{OrganizationID: org}, path: "/webhooks/salesforce/x", remote: "127.0.0.1:1", body: string(sample), wantErr: record.ErrUnauthenticated},
		{name: "credentials checked before the body", cc: full, path: "/webhooks/salesforce/x", remote: "127.0.0.1:1", body: "not xml", wantErr: record.ErrUnauthenticated},
		{name: "100 notifications", cc: config.Connector{OrganizationID: org}, path: "/webhooks/salesforce", remote: "127.0.0.1:1", body: notifications(100, false)},
		{name: "101 notifications", cc: config.Connector{OrganizationID: org}, path: "/webhooks/salesforce", remote: "127.0.0.1:1", body: notifications(101, false), wantErr: record.ErrMalformed},
		{name: "notifications on one record coalesced", cc: config.Connector{OrganizationID: org}, path: "/webhooks/salesforce", remote: "127.0.0.1:1", body: notifications(40, true),
			wantIDs: []string{"006xx000001Sv6tAAC"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := salesforce.NewOutboundVerifier(tc.cc)
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("POST", tc.path, strings.NewReader(tc.body))
			r.RemoteAddr = tc.remote
			if tc.user != "" || tc.pass != "" {
				r.SetBasicAuth(tc.user, tc.pass)
			}
			evs, err := v.Verify(r, []byte(tc.body), time.Unix(0, 0))
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil {
				return
			}
			var ids []string
			for _, ev := range evs {
				ids = append(ids, ev.ObjectID)
			}
			if tc.wantIDs != nil && strings.Join(ids, ",") != strings.Join(tc.wantIDs, ",") {
				t.Errorf("object IDs = %v, want %v", ids, tc.wantIDs)
			}
			if tc.wantIDs == nil && len(ids) != 100 {
				t.Errorf("%d events, want 100", len(ids))
			}
		})
	}
	if _, err := salesforce.NewOutboundVerifier(config.Connector{Webhook: config.Webhook{AllowedIPs: []string{"salesforce.com"}}}); err == nil {
		t.Error("an allow-list entry that is no address was accepted")
	}
}
