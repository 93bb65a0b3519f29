package salesforce

import (
	"bytes"
	"crypto/subtle"
	"encoding/xml"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
)

// MaxNotifications is the most notifications Salesforce puts in one Outbound
// Message (SOAP API Developer Guide, Outbound Messaging, "Understanding
// Notifications": "A single SOAP message can include up to 100
// notifications"). A message with more did not come from Salesforce.
const MaxNotifications = 100

// Verifier checks Salesforce Outbound Messages. Outbound Messages carry no
// signature, so the checks are the controls Salesforce leaves to the
// listener (SOAP API Developer Guide, Outbound Messaging, "Considerations for
// Security"), cheapest first and all before any notification is parsed:
//   - the caller's address is in the allow list (Salesforce's published IP
//     ranges), when one is configured;
//   - the endpoint URL's secret path token, when configured: the URL given
//     to Salesforce ends in /webhooks/NAME/TOKEN, over HTTPS;
//   - basic credentials, when configured: the URL given to Salesforce is
//     https://USER:PASSWORD@HOST/webhooks/NAME;
//   - the message's OrganizationId is the configured org ("Understanding
//     the Outbound Messaging WSDL");
//   - at most MaxNotifications notifications.
//
// Notifications on the same record are coalesced into one event (the last):
// the engine fetches the record's current state anyway.
type Verifier struct {
	orgID     string
	pathToken []byte
	username  []byte
	password  []byte
	allowed   []netip.Prefix
}

// NewVerifier returns a Verifier that checks only the org (15 or 18
// characters) and the notification cap.
func NewVerifier(orgID string) *Verifier { return &Verifier{orgID: orgID} }

// NewOutboundVerifier returns a Verifier for a connector's organization_id
// and webhook settings (path_token, username and password, allowed_ips).
// Validation has checked allowed_ips; an entry that does not parse is an
// error here too.
func NewOutboundVerifier(cc config.Connector) (*Verifier, error) {
	v := &Verifier{orgID: cc.OrganizationID}
	w := cc.Webhook
	if !w.PathToken.IsZero() {
		v.pathToken = []byte(w.PathToken.Reveal())
	}
	if w.Username != "" {
		v.username, v.password = []byte(w.Username), []byte(w.Password.Reveal())
	}
	for _, s := range w.AllowedIPs {
		p, err := ParseAllowedIP(s)
		if err != nil {
			return nil, fmt.Errorf("webhook allowed_ips: %w", err)
		}
		v.allowed = append(v.allowed, p)
	}
	return v, nil
}

// ParseAllowedIP parses an allow-list entry: a CIDR prefix or one address.
func ParseAllowedIP(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is neither an IP address nor a CIDR prefix", s)
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// authorize applies the request-level controls: allow list, path token and
// basic credentials. Comparisons of secrets take constant time.
func (v *Verifier) authorize(r *http.Request) error {
	if len(v.allowed) > 0 {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		a, err := netip.ParseAddr(host)
		if err != nil || !v.allows(a.Unmap()) {
			return fmt.Errorf("outbound message from an address outside webhook.allowed_ips: %w", record.ErrUnauthenticated)
		}
	}
	// The token is the last path segment; without a token configured, the
	// endpoint has no segment after its name (the receiver routes at most one).
	rest, _ := strings.CutPrefix(r.URL.Path, "/webhooks/")
	_, last, hasSub := strings.Cut(strings.TrimPrefix(rest, "/"), "/")
	switch {
	case len(v.pathToken) > 0 && subtle.ConstantTimeCompare([]byte(last), v.pathToken) != 1:
		return fmt.Errorf("outbound message without the endpoint's path token: %w", record.ErrUnauthenticated)
	case len(v.pathToken) == 0 && hasSub:
		return fmt.Errorf("outbound message to an unknown path: %w", record.ErrUnauthenticated)
	}
	if len(v.username) > 0 {
		u, p, ok := r.BasicAuth()
		userOK := subtle.ConstantTimeCompare([]byte(u), v.username)
		passOK := subtle.ConstantTimeCompare([]byte(p), v.password)
		if !ok || userOK&passOK != 1 {
			return fmt.Errorf("outbound message without the endpoint's credentials: %w", record.ErrUnauthenticated)
		}
	}
	return nil
}

func (v *Verifier) allows(a netip.Addr) bool {
	for _, p := range v.allowed {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Verify parses an Outbound Message and returns one event per Notification:
// ID the notification Id (Salesforce resends the same Id until acknowledged),
// ObjectType the sObject type, ObjectID its Id, Fields the sent fields.
func (c *Client) Verify(r *http.Request, body []byte, now time.Time) ([]record.Event, error) {
	v, err := NewOutboundVerifier(c.cfg)
	if err != nil {
		return nil, err
	}
	return v.Verify(r, body, now)
}

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
	if err := v.authorize(r); err != nil {
		return nil, err
	}
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
	if len(n.Notification) > MaxNotifications {
		return nil, fmt.Errorf("outbound message with %d notifications, Salesforce sends at most %d: %w",
			len(n.Notification), MaxNotifications, record.ErrMalformed)
	}
	events := make([]record.Event, 0, len(n.Notification))
	byRecord := map[string]int{} // type/ID -> index in events
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
		// Coalesce per record: one fetch reads the record's current state
		// whatever the number of notifications.
		key := typ + "/" + ev.ObjectID
		if i, seen := byRecord[key]; seen {
			events[i] = ev
			continue
		}
		byRecord[key] = len(events)
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
