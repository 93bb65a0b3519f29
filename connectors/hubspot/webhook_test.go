package hubspot

import (
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/hubspot/hubspottest"
	"github.com/healthsync/healthsync/connectors/record"
)

// TestWebhookEventIDIdentifiesTheChange pins the de-duplication key
// (record.Event.ID): HubSpot's eventId "is not guaranteed to be unique"
// ("Webhooks API"), so two changes sharing one must keep distinct IDs, while
// a redelivery of one change (attemptNumber 1) keeps its ID.
func TestWebhookEventIDIdentifiesTheChange(t *testing.T) {
	at := t0.UnixMilli()
	body := `[` +
		`{"eventId":100,"subscriptionId":7,"portalId":62515,"appId":1,"occurredAt":1740830400000,"subscriptionType":"company.propertyChange","attemptNumber":0,"objectId":1234,"propertyName":"name","propertyValue":"Acme","changeSource":"CRM"},` +
		`{"eventId":100,"subscriptionId":7,"portalId":62515,"appId":1,"occurredAt":1740830400000,"subscriptionType":"company.propertyChange","attemptNumber":0,"objectId":1235,"propertyName":"name","propertyValue":"Beta","changeSource":"CRM"},` +
		`{"eventId":100,"subscriptionId":8,"portalId":62515,"appId":1,"occurredAt":1740830400001,"subscriptionType":"company.propertyChange","attemptNumber":0,"objectId":1234,"propertyName":"domain","propertyValue":"acme.example","changeSource":"CRM"},` +
		`{"eventId":100,"subscriptionId":7,"portalId":62515,"appId":1,"occurredAt":1740830400000,"subscriptionType":"company.propertyChange","attemptNumber":1,"objectId":1234,"propertyName":"name","propertyValue":"Acme","changeSource":"CRM"}` +
		`]`
	evs := verifySigned(t, body)
	occ := time.UnixMilli(at).UTC()
	ev := func(id, obj, prop, val string, occurred time.Time) record.Event {
		return record.Event{System: record.HubSpot, ID: id, Type: "company.propertyChange", ObjectType: "company",
			ObjectID: obj, Occurred: occurred, Fields: map[string]string{prop: val}}
	}
	want := []record.Event{
		ev("62515:7:company.propertyChange:1234:name:1740830400000", "1234", "name", "Acme", occ),
		ev("62515:7:company.propertyChange:1235:name:1740830400000", "1235", "name", "Beta", occ),
		ev("62515:8:company.propertyChange:1234:domain:1740830400001", "1234", "domain", "acme.example", occ.Add(time.Millisecond)),
		ev("62515:7:company.propertyChange:1234:name:1740830400000", "1234", "name", "Acme", occ), // the redelivery
	}
	if !reflect.DeepEqual(evs, want) {
		t.Errorf("events =\n%+v\nwant\n%+v", evs, want)
	}
}

// TestWebhookGenericAndAssociationEvents: generic subscriptions
// ("object.propertyChange") name the object by objectTypeId, and
// association changes carry fromObjectId/toObjectId instead of objectId;
// both become change notices for the record to re-read (a deal whose
// primary company changed) instead of failing the whole delivery.
func TestWebhookGenericAndAssociationEvents(t *testing.T) {
	body := `[` +
		`{"eventId":1,"subscriptionId":9,"portalId":62515,"occurredAt":1740830400000,"subscriptionType":"object.propertyChange","objectTypeId":"0-2","objectId":1234,"propertyName":"name","propertyValue":"Acme"},` +
		`{"eventId":2,"subscriptionId":10,"portalId":62515,"occurredAt":1740830400000,"subscriptionType":"deal.associationChange","fromObjectId":77,"toObjectId":1234,"associationType":"DEAL_TO_COMPANY","associationRemoved":false,"isPrimaryAssociation":true},` +
		`{"eventId":2,"subscriptionId":10,"portalId":62515,"occurredAt":1740830400000,"subscriptionType":"deal.associationChange","fromObjectId":77,"toObjectId":1235,"associationType":"DEAL_TO_COMPANY","associationRemoved":true,"isPrimaryAssociation":false}` +
		`]`
	evs := verifySigned(t, body)
	occ := time.UnixMilli(1740830400000).UTC()
	want := []record.Event{
		{System: record.HubSpot, ID: "62515:9:object.propertyChange:1234:name:1740830400000", Type: "object.propertyChange",
			ObjectType: "company", ObjectID: "1234", Occurred: occ, Fields: map[string]string{"name": "Acme"}},
		{System: record.HubSpot, ID: "62515:10:deal.associationChange:77::1740830400000:1234:DEAL_TO_COMPANY:false", Type: "deal.associationChange",
			ObjectType: "deal", ObjectID: "77", Occurred: occ},
		{System: record.HubSpot, ID: "62515:10:deal.associationChange:77::1740830400000:1235:DEAL_TO_COMPANY:true", Type: "deal.associationChange",
			ObjectType: "deal", ObjectID: "77", Occurred: occ},
	}
	if !reflect.DeepEqual(evs, want) {
		t.Errorf("events =\n%+v\nwant\n%+v", evs, want)
	}
}

// verifySigned verifies body signed at t0 as HubSpot would and returns its
// events.
func verifySigned(t *testing.T, body string) []record.Event {
	t.Helper()
	const secret = "app-client-secret"
	const target = "https://hooks.example.com/webhooks/hubspot"
	v, err := NewVerifier(config.Webhook{ClientSecret: config.NewSecret(secret)}, target)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("POST", target, strings.NewReader(body))
	r.Header.Set("X-HubSpot-Signature-v3", hubspottest.SignV3(secret, "POST", target, []byte(body), t0))
	r.Header.Set("X-HubSpot-Request-Timestamp", hubspottest.TimestampHeader(t0))
	evs, err := v.Verify(r, []byte(body), t0)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}
