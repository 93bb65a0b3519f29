package salesforce

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
)

// Verifier checks Salesforce Outbound Messages: SOAP notifications whose
// OrganizationId must be the configured org (SOAP API Developer Guide,
// "Understanding the Outbound Messaging WSDL"). Outbound Messages carry no
// signature; the org ID, TLS and the endpoint URL are what Salesforce offers.
type Verifier struct {
	orgID string
}

// NewVerifier returns a Verifier for the org (15 or 18 characters).
func NewVerifier(orgID string) *Verifier { return &Verifier{orgID: orgID} }

type soapEnvelope struct {
	Body struct {
		Notifications *struct {
			OrganizationID string `xml:"OrganizationId"`
			ActionID       string `xml:"ActionId"`
			Notification   []struct {
				ID      string `xml:"Id"`
				SObject struct {
					Type   string `xml:"http://www.w3.org/2001/XMLSchema-instance type,attr"`
					Fields []struct {
						XMLName xml.Name
						Nil     string `xml:"http://www.w3.org/2001/XMLSchema-instance nil,attr"`
						Value   string `xml:",chardata"`
					} `xml:",any"`
				} `xml:"sObject"`
			} `xml:"Notification"`
		} `xml:"http://soap.sforce.com/2005/09/outbound notifications"`
	} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
}

// Verify implements the webhook verifier for Outbound Messages.
func (v *Verifier) Verify(r *http.Request, body []byte, now time.Time) ([]record.Event, error) {
	var env soapEnvelope
	if err := xml.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("parsing outbound message: %w", record.ErrMalformed)
	}
	n := env.Body.Notifications
	if n == nil {
		return nil, fmt.Errorf("outbound message without notifications: %w", record.ErrMalformed)
	}
	if !SameID(v.orgID, strings.TrimSpace(n.OrganizationID)) {
		return nil, fmt.Errorf("outbound message from another organization: %w", record.ErrUnauthenticated)
	}
	events := make([]record.Event, 0, len(n.Notification))
	for _, nt := range n.Notification {
		typ := nt.SObject.Type
		if _, after, ok := strings.Cut(typ, ":"); ok {
			typ = after
		}
		ev := record.Event{System: record.Salesforce, ID: strings.TrimSpace(nt.ID), Type: "outbound_message", ObjectType: typ, Occurred: now.UTC(), Fields: map[string]string{}}
		for _, f := range nt.SObject.Fields {
			val := f.Value
			if f.Nil == "true" {
				val = ""
			}
			ev.Fields[f.XMLName.Local] = val
			if f.XMLName.Local == "Id" {
				ev.ObjectID = strings.TrimSpace(val)
			}
		}
		if ev.ID == "" || typ == "" || ev.ObjectID == "" {
			return nil, fmt.Errorf("outbound message notification without Id, type or sObject Id: %w", record.ErrMalformed)
		}
		events = append(events, ev)
	}
	return events, nil
}

// SameID compares two Salesforce IDs of 15 or 18 characters: the first 15
// characters, case-sensitively. An empty ID never matches.
func SameID(a, b string) bool {
	if (len(a) != 15 && len(a) != 18) || (len(b) != 15 && len(b) != 18) {
		return false
	}
	return a[:15] == b[:15]
}

// AckResponse is the notificationsResponse SOAP envelope the listener
// returns; Ack false makes Salesforce resend the message later.
func AckResponse(ack bool) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` + "\n")
	b.WriteString(" <soapenv:Body>\n")
	b.WriteString(`  <notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound">` + "\n")
	b.WriteString("   <Ack>" + strconv.FormatBool(ack) + "</Ack>\n")
	b.WriteString("  </notificationsResponse>\n </soapenv:Body>\n</soapenv:Envelope>\n")
	return b.Bytes()
}
