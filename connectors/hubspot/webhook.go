package hubspot

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
)

// Verifier authenticates HubSpot webhook requests with the v3 signature
// and parses their events.
type Verifier struct {
	secrets   []string
	tolerance time.Duration
	url       string
}

// NewVerifier builds a Verifier from the connector's webhook settings
// (client_secret, tolerance default 5 minutes). registeredURL is the target
// URL as registered in the HubSpot app; empty rebuilds it from the request.
func NewVerifier(w config.Webhook, registeredURL string) (*Verifier, error) {
	v := &Verifier{tolerance: w.Tolerance.D(), url: registeredURL}
	if !w.ClientSecret.IsZero() {
		v.secrets = append(v.secrets, w.ClientSecret.Reveal())
	}
	for _, s := range w.Secrets {
		if !s.IsZero() {
			v.secrets = append(v.secrets, s.Reveal())
		}
	}
	if len(v.secrets) == 0 {
		return nil, fmt.Errorf("hubspot: webhook: client_secret is required")
	}
	if v.tolerance <= 0 {
		v.tolerance = 5 * time.Minute
	}
	return v, nil
}

// Verifier returns the webhook verifier of the client's configuration.
func (c *Client) Verifier() (*Verifier, error) { return NewVerifier(c.cfg.Webhook, c.opts.WebhookURL) }

// uriDecodes are the percent-encodings HubSpot decodes in the request URI
// before signing (developers.hubspot.com "Validating requests", v3).
var uriDecodes = strings.NewReplacer(
	"%3A", ":", "%2F", "/", "%3F", "?", "%40", "@", "%21", "!", "%24", "$",
	"%27", "'", "%28", "(", "%29", ")", "%2A", "*", "%2C", ",", "%3B", ";",
	"%3a", ":", "%2f", "/", "%3f", "?", "%2a", "*", "%2c", ",", "%3b", ";",
)

// requestURI is the full URL HubSpot signed: scheme, host, path and query.
func (v *Verifier) requestURI(r *http.Request) string {
	if v.url != "" {
		u := v.url
		if q := r.URL.RawQuery; q != "" && !strings.Contains(u, "?") {
			u += "?" + q
		}
		return uriDecodes.Replace(u)
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
		scheme = strings.TrimSpace(strings.Split(p, ",")[0])
	}
	host := r.Host
	if h := r.Header.Get("X-Forwarded-Host"); h != "" {
		host = strings.TrimSpace(strings.Split(h, ",")[0])
	}
	return uriDecodes.Replace(scheme + "://" + host + r.URL.RequestURI())
}

// event is one entry of HubSpot's webhook payload array.
type event struct {
	EventID          json.Number `json:"eventId"`
	SubscriptionID   json.Number `json:"subscriptionId"`
	PortalID         json.Number `json:"portalId"`
	OccurredAt       int64       `json:"occurredAt"`
	SubscriptionType string      `json:"subscriptionType"`
	ObjectID         json.Number `json:"objectId"`
	PropertyName     string      `json:"propertyName"`
	PropertyValue    *string     `json:"propertyValue"`
	ChangeSource     string      `json:"changeSource"`
	// ObjectTypeID names the object of generic subscriptions
	// (subscriptionType "object.propertyChange" and the like): "0-2"
	// companies, "0-3" deals (changelog "Public Beta: Generic Webhook
	// Subscriptions").
	ObjectTypeID string `json:"objectTypeId"`
	// Association change events carry these instead of objectId
	// (changelog "New subscription types for Webhooks").
	FromObjectID       json.Number `json:"fromObjectId"`
	ToObjectID         json.Number `json:"toObjectId"`
	AssociationType    string      `json:"associationType"`
	AssociationRemoved bool        `json:"associationRemoved"`
}

// changeID is the de-duplication key of one event. HubSpot's "Webhooks API"
// guide (event payload fields) says eventId "is not guaranteed to be
// unique", so two real changes may share one and it cannot be the key
// alone. The key is what identifies a change: portal, subscription,
// subscription type, object, property and occurredAt. A redelivery of one
// event (HubSpot retries the same event; only attemptNumber moves) gets the
// same key; two changes sharing an eventId get different keys.
func (e event) changeID() string {
	parts := []string{
		e.PortalID.String(), e.SubscriptionID.String(), e.SubscriptionType, e.objectID(),
		e.PropertyName, strconv.FormatInt(e.OccurredAt, 10),
	}
	if e.ObjectID == "" && e.FromObjectID != "" {
		// An association change: which association, added or removed.
		parts = append(parts, e.ToObjectID.String(), e.AssociationType, strconv.FormatBool(e.AssociationRemoved))
	}
	return strings.Join(parts, ":")
}

// objectID is the record the event is about: objectId, or fromObjectId for
// an association change (the record whose associations changed, so that
// re-reading it picks up, say, a new primary company).
func (e event) objectID() string {
	if e.ObjectID != "" {
		return e.ObjectID.String()
	}
	return e.FromObjectID.String()
}

// objectType is the event's object: the subscription type's prefix
// ("company.propertyChange"), or for generic subscriptions
// ("object.propertyChange") the object named by objectTypeId, spelled as
// the legacy prefix when it is one healthsync reads ("0-2" company), so that
// both forms order and fetch alike.
func (e event) objectType() string {
	typ, _, _ := strings.Cut(e.SubscriptionType, ".")
	if typ != "object" || e.ObjectTypeID == "" {
		return typ
	}
	switch e.ObjectTypeID {
	case "0-2":
		return "company"
	case "0-3":
		return "deal"
	case "0-27":
		return "task"
	}
	return e.ObjectTypeID
}

// Verify checks X-HubSpot-Signature-v3 (base64 HMAC-SHA256 of method +
// URI + body + X-HubSpot-Request-Timestamp, keyed by the client secret,
// compared in constant time) and the timestamp's age, then turns the
// payload's events into change notices.
func (v *Verifier) Verify(r *http.Request, body []byte, now time.Time) ([]record.Event, error) {
	sig := r.Header.Get("X-HubSpot-Signature-v3")
	tsh := r.Header.Get("X-HubSpot-Request-Timestamp")
	if sig == "" || tsh == "" {
		return nil, fmt.Errorf("%w: missing X-HubSpot-Signature-v3 or X-HubSpot-Request-Timestamp", record.ErrUnauthenticated)
	}
	ms, err := strconv.ParseInt(tsh, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("%w: bad X-HubSpot-Request-Timestamp", record.ErrUnauthenticated)
	}
	if age := now.Sub(time.UnixMilli(ms)); age > v.tolerance || age < -v.tolerance {
		return nil, fmt.Errorf("%w: timestamp outside the %s tolerance", record.ErrUnauthenticated, v.tolerance)
	}
	got, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return nil, fmt.Errorf("%w: signature is not base64", record.ErrUnauthenticated)
	}
	uri := v.requestURI(r)
	ok := false
	for _, s := range v.secrets {
		m := hmac.New(sha256.New, []byte(s))
		m.Write([]byte(r.Method))
		m.Write([]byte(uri))
		m.Write(body)
		m.Write([]byte(tsh))
		if hmac.Equal(m.Sum(nil), got) {
			ok = true
		}
	}
	if !ok {
		return nil, fmt.Errorf("%w: signature mismatch", record.ErrUnauthenticated)
	}
	var evs []event
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	if err := dec.Decode(&evs); err != nil {
		return nil, fmt.Errorf("%w: %v", record.ErrMalformed, err)
	}
	out := make([]record.Event, 0, len(evs))
	for _, e := range evs {
		if e.EventID == "" || e.SubscriptionType == "" || e.objectID() == "" {
			return nil, fmt.Errorf("%w: event without eventId, subscriptionType or objectId", record.ErrMalformed)
		}
		re := record.Event{
			System:     record.HubSpot,
			ID:         e.changeID(),
			Type:       e.SubscriptionType,
			ObjectType: e.objectType(),
			ObjectID:   e.objectID(),
			Occurred:   time.UnixMilli(e.OccurredAt).UTC(),
		}
		if e.PropertyName != "" {
			val := ""
			if e.PropertyValue != nil {
				val = *e.PropertyValue
			}
			re.Fields = map[string]string{e.PropertyName: val}
		}
		out = append(out, re)
	}
	return out, nil
}
