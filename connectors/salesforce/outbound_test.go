package salesforce_test

import (
	"encoding/xml"
	"errors"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/connectors/salesforce"
	"github.com/healthsync/healthsync/connectors/salesforce/salesforcetest"
)

func TestVerifyOutboundMessage(t *testing.T) {
	sample, err := os.ReadFile("testdata/outbound_opportunity.xml")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	docEvents := []record.Event{
		{System: record.Salesforce, ID: "04lxx000000000AAAQ", Type: "outbound_message", ObjectType: "Opportunity", ObjectID: "006xx000001Sv6tAAC", Occurred: now,
			Fields: map[string]string{"Id": "006xx000001Sv6tAAC", "Amount": "25000.0", "Name": "Edge Emergency Generator", "StageName": "Closed Won"}},
		{System: record.Salesforce, ID: "04lxx000000000BAAQ", Type: "outbound_message", ObjectType: "Opportunity", ObjectID: "006xx000001Sv6uAAC", Occurred: now,
			Fields: map[string]string{"Id": "006xx000001Sv6uAAC", "Amount": "", "Name": "Grand Hotels Kitchen & Bar", "StageName": "Prospecting"}},
	}
	tests := []struct {
		name    string
		orgID   string
		body    string
		want    []record.Event
		wantErr error
	}{
		{name: "documented sample, 18-char org", orgID: "00Dxx0000001gEREAY", body: string(sample), want: docEvents},
		{name: "documented sample, 15-char org", orgID: "00Dxx0000001gER", body: string(sample), want: docEvents},
		{name: "other org", orgID: "00Dxx0000001gXYEAY", body: string(sample), wantErr: record.ErrUnauthenticated},
		{name: "org differs only in case", orgID: "00Dxx0000001ger", body: string(sample), wantErr: record.ErrUnauthenticated},
		{name: "no org configured", orgID: "", body: string(sample), wantErr: record.ErrUnauthenticated},
		{name: "not xml", orgID: "00Dxx0000001gER", body: `{"id":1}`, wantErr: record.ErrMalformed},
		{name: "soap without notifications", orgID: "00Dxx0000001gER", body: `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body/></soapenv:Envelope>`, wantErr: record.ErrMalformed},
		{name: "notification without sObject id", orgID: "00Dxx0000001gER", body: strings.Replace(string(sample), "<sf:Id>006xx000001Sv6tAAC</sf:Id>", "", 1), wantErr: record.ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/webhooks/salesforce", strings.NewReader(tc.body))
			r.Header.Set("Content-Type", "text/xml; charset=utf-8")
			got, err := salesforce.NewVerifier(tc.orgID).Verify(r, []byte(tc.body), now)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !equalJSON(got, tc.want) {
				t.Errorf("events = %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// The fake's notification round-trips through the client's verifier.
func TestVerifyFakeOutboundMessage(t *testing.T) {
	e := newEnv(t, salesforcetest.Options{})
	id := e.mustInsert("Account", map[string]any{"Name": "Acme <Labs>", "Industry": "Technology"})
	body := e.fake.OutboundMessage("Account", id)
	evs, err := salesforce.NewVerifier(e.fake.OrgID()).Verify(httptest.NewRequest("POST", "/", nil), body, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].ObjectType != "Account" || evs[0].ObjectID != id || evs[0].Fields["Name"] != "Acme <Labs>" ||
		evs[0].Fields["Industry"] != "Technology" || !strings.HasPrefix(evs[0].ID, "04l") {
		t.Errorf("events = %+v", evs)
	}
}

func TestAckResponse(t *testing.T) {
	for _, ack := range []bool{true, false} {
		var env struct {
			Body struct {
				Resp struct {
					Ack string `xml:"Ack"`
				} `xml:"http://soap.sforce.com/2005/09/outbound notificationsResponse"`
			} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
		}
		b := salesforce.AckResponse(ack)
		if err := xml.Unmarshal(b, &env); err != nil {
			t.Fatal(err)
		}
		want := "false"
		if ack {
			want = "true"
		}
		if env.Body.Resp.Ack != want {
			t.Errorf("Ack = %q in %s", env.Body.Resp.Ack, b)
		}
	}
}
