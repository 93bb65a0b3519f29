package salesforcetest

import (
	"bytes"
	"encoding/xml"
	"strconv"
	"time"
)

// OutboundMessage builds the SOAP notification Salesforce posts for an
// Outbound Message on object (SOAP API Developer Guide, "Understanding the
// Outbound Messaging WSDL": notifications with OrganizationId, ActionId,
// SessionId, EnterpriseUrl, PartnerUrl and up to 100 Notification elements,
// each with an Id and an sObject of xsi:type sf:Object). Every non-null field
// of each record is included. Unknown IDs are skipped.
func (s *Server) OutboundMessage(object string, ids ...string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.objects[lower(object)]
	var b bytes.Buffer
	esc := func(v string) {
		xml.EscapeText(&b, []byte(v))
	}
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` + "\n")
	b.WriteString(" <soapenv:Body>\n")
	b.WriteString(`  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">` + "\n")
	b.WriteString("   <OrganizationId>" + s.orgID + "</OrganizationId>\n")
	b.WriteString("   <ActionId>" + To18("04k5g0000000001") + "</ActionId>\n")
	b.WriteString(`   <SessionId xsi:nil="true"/>` + "\n")
	b.WriteString("   <EnterpriseUrl>" + s.URL + "/services/Soap/c/" + s.version + "/" + s.orgID[:15] + "</EnterpriseUrl>\n")
	b.WriteString("   <PartnerUrl>" + s.URL + "/services/Soap/u/" + s.version + "/" + s.orgID[:15] + "</PartnerUrl>\n")
	if o != nil {
		for _, id := range ids {
			rec := o.recs[To18(id)]
			if rec == nil {
				continue
			}
			s.seq["04l"]++
			nid := To18("04l5g" + pad10(s.seq["04l"]))
			b.WriteString("   <Notification>\n    <Id>" + nid + "</Id>\n")
			b.WriteString(`    <sObject xsi:type="sf:` + o.name + `" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">` + "\n")
			for _, f := range o.fields {
				v := rec[f.Name]
				if v == nil {
					continue
				}
				var text string
				switch x := v.(type) {
				case time.Time:
					text = x.UTC().Format("2006-01-02T15:04:05.000Z")
				case float64:
					text = strconv.FormatFloat(x, 'f', -1, 64)
				case bool:
					text = strconv.FormatBool(x)
				case string:
					text = x
				}
				b.WriteString("     <sf:" + f.Name + ">")
				esc(text)
				b.WriteString("</sf:" + f.Name + ">\n")
			}
			b.WriteString("    </sObject>\n   </Notification>\n")
		}
	}
	b.WriteString("  </notifications>\n </soapenv:Body>\n</soapenv:Envelope>\n")
	return b.Bytes()
}

func pad10(n int64) string {
	var c [10]byte
	for i := 9; i >= 0; i-- {
		c[i] = base62[n%62]
		n /= 62
	}
	return string(c[:])
}
