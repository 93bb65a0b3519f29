package salesforce

import (
	"fmt"
	"strings"
	"testing"

	"github.com/healthsync/healthsync/connectors/record"
)

// benchPage is a query page of 2,000 accounts as the Salesforce REST API
// answers it: attributes, the standard fields, Owner.Name and the nine
// write-back fields healthsync reads back.
func benchPage() ([]byte, []string) {
	extra := []string{"Health_Score__c", "Health_Band__c", "Health_Trend__c", "Health_Reasons__c", "Touch_Model__c",
		"Lifecycle_Phase__c", "MRR__c", "ARR__c", "Healthsync_Updated_At__c"}
	var b strings.Builder
	b.WriteString(`{"totalSize":10000,"done":false,"nextRecordsUrl":"/services/data/v60.0/query/01gD0000002HU6KIAW-2000","records":[`)
	for i := range 2000 {
		if i > 0 {
			b.WriteByte(',')
		}
		id := fmt.Sprintf("001D%011dAAA", i)
		fmt.Fprintf(&b, `{"attributes":{"type":"Account","url":"/services/data/v60.0/sobjects/Account/%s"},"Id":"%s","Name":"Account %d",`+
			`"Website":null,"OwnerId":"005D00000012345AAA","Owner":{"attributes":{"type":"User","url":"/services/data/v60.0/sobjects/User/005D00000012345AAA"},"Name":"Ann Owner"},`+
			`"Industry":null,"SystemModstamp":"2026-11-20T12:00:00.000+0000","LastModifiedDate":"2026-11-20T12:00:00.000+0000","IsDeleted":false,`+
			`"Health_Score__c":%d,"Health_Band__c":"healthy","Health_Trend__c":0,"Health_Reasons__c":"logins low; seats unused",`+
			`"Touch_Model__c":"tech","Lifecycle_Phase__c":"adopt","MRR__c":%d,"ARR__c":%d,"Healthsync_Updated_At__c":"2026-11-20T12:00:00.000+0000"}`,
			id, id, i, i%100, 10000*(i%5+1), 120000*(i%5+1))
	}
	b.WriteString(`]}`)
	return []byte(b.String()), extra
}

// BenchmarkDecodeAccountPage: one page of 2,000 accounts from response
// bytes to records (the client's share of a pull; no HTTP, no fake).
func BenchmarkDecodeAccountPage(b *testing.B) {
	page, extra := benchPage()
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		var qr queryResult
		if err := qr.decodeJSON(page); err != nil {
			b.Fatal(err)
		}
		accts := make([]record.Account, 0, len(qr.Records))
		for _, raw := range qr.Records {
			r, err := decodeRow(raw)
			if err != nil {
				b.Fatal(err)
			}
			accts = append(accts, toAccount(r, extra))
		}
		if len(accts) != 2000 || accts[1999].OwnerName != "Ann Owner" || accts[7].Fields["MRR__c"] != 30000.0 {
			b.Fatalf("decoded %d accounts: %+v", len(accts), accts[len(accts)-1])
		}
	}
}

// BenchmarkTaskMarkers: the marker line of a task description found by
// markerRe (as toTask did) and by parseMarkers, for the 2,000 tasks of a
// page.
func BenchmarkTaskMarkers(b *testing.B) {
	descs := make([]string, 2000)
	for i := range descs {
		descs[i] = fmt.Sprintf("Health score 41 (at risk): logins down 60%%, seats unused.\nPlease call the customer.\n\n[healthsync:at_risk_follow_up/salesforce/001D%011dAAA/2026-11]", i)
	}
	b.Run("regexp", func(b *testing.B) {
		for b.Loop() {
			for _, d := range descs {
				if m := markerRe.FindAllStringSubmatch(d, -1); m == nil || strings.TrimRight(markerRe.ReplaceAllString(d, ""), "\r\n ") == "" {
					b.Fatal("no marker")
				}
			}
		}
	})
	b.Run("lines", func(b *testing.B) {
		for b.Loop() {
			for _, d := range descs {
				if _, body, ok := parseMarkers(d); !ok || body == "" {
					b.Fatal("no marker")
				}
			}
		}
	})
}
