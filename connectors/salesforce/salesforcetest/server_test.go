package salesforcetest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestTo18(t *testing.T) {
	tests := []struct{ in, want string }{
		{"001A0000006Vm9r", "001A0000006Vm9rIAC"},
		{"00D000000000062", "00D000000000062EAA"},
		{"001A0000006Vm9rIAC", "001A0000006Vm9rIAC"},
	}
	for _, tc := range tests {
		if got := To18(tc.in); got != tc.want {
			t.Errorf("To18(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

type apiClient struct {
	t   *testing.T
	s   *Server
	tok string
}

func login(t *testing.T, s *Server) *apiClient {
	resp, err := http.PostForm(s.URL+"/services/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"fake-client-id"}, "client_secret": {"fake-client-secret"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr map[string]string
	json.NewDecoder(resp.Body).Decode(&tr)
	if resp.StatusCode != 200 || tr["instance_url"] != s.URL || tr["token_type"] != "Bearer" || tr["access_token"] == "" {
		t.Fatalf("token: %d %v", resp.StatusCode, tr)
	}
	return &apiClient{t: t, s: s, tok: tr["access_token"]}
}

func (c *apiClient) do(method, path, body string) (int, http.Header, string) {
	req, _ := http.NewRequest(method, c.s.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+c.tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func q(soql string) string { return "/services/data/v62.0/query?" + url.Values{"q": {soql}}.Encode() }

func TestQuery(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	s := NewServer(Options{Now: func() time.Time { return now }})
	defer s.Close()
	a, _ := s.Insert("Account", map[string]any{"Name": "Acme", "Industry": "Retail", "NumberOfEmployees": 10})
	b, _ := s.Insert("Account", map[string]any{"Name": "Beta", "Industry": "Banking", "NumberOfEmployees": 500})
	s.Insert("Account", map[string]any{"Name": "Gamma", "SystemModstamp": now.Add(-time.Hour)})
	c := login(t, s)
	tests := []struct {
		name, soql string
		status     int
		want       string // substring of the body
	}{
		{"fields and attributes", "SELECT Id, Name FROM Account WHERE Name = 'Acme'", 200,
			`{"totalSize":1,"done":true,"records":[{"attributes":{"type":"Account","url":"/services/data/v62.0/sobjects/Account/` + a + `"},"Id":"` + a + `","Name":"Acme"}]}`},
		{"datetime literal with offset", "SELECT Name FROM Account WHERE SystemModstamp > 2025-01-02T03:30:00+01:00 ORDER BY Name DESC", 200, `"Name":"Beta"},{"attributes"`},
		{"datetime literal with fractional seconds", "SELECT Name FROM Account WHERE SystemModstamp > 2025-01-02T02:30:00.000+00:00", 400, `[{"errorCode":"MALFORMED_QUERY","message":"unexpected token: '2025-01-02T02:30:00.000+00:00'"}]`},
		{"datetime literal without zone", "SELECT Name FROM Account WHERE SystemModstamp > 2025-01-02T02:30:00", 400, `"errorCode":"MALFORMED_QUERY"`},
		{"datetime format", "SELECT SystemModstamp FROM Account WHERE Id = '" + b + "'", 200, `"SystemModstamp":"2025-01-02T03:04:05.000+0000"`},
		{"IN and OR", "SELECT Name FROM Account WHERE Industry IN ('Retail', 'Banking') AND (NumberOfEmployees > 100 OR Name LIKE 'Ac%') ORDER BY Name", 200, `"totalSize":2`},
		{"LIMIT", "SELECT Name FROM Account ORDER BY Name LIMIT 1", 200, `"totalSize":1`},
		{"compound cursor", "SELECT Name FROM Account WHERE (SystemModstamp > 2025-01-02T03:04:05Z OR (SystemModstamp = 2025-01-02T03:04:05Z AND Id > '" + a + "')) ORDER BY SystemModstamp, Id", 200, `"totalSize":1,"done":true,"records":[{"attributes":{"type":"Account","url":"/services/data/v62.0/sobjects/Account/` + b + `"},"Name":"Beta"}`},
		{"quoted datetime", "SELECT Name FROM Account WHERE SystemModstamp > '2025-01-01'", 400, `"errorCode":"INVALID_FIELD"`},
		{"unknown field", "SELECT Nope__c FROM Account", 400, `No such column 'Nope__c' on entity 'Account'`},
		{"unknown object", "SELECT Id FROM Nope__c", 400, `"errorCode":"INVALID_TYPE"`},
		{"malformed", "SELECT FROM Account", 400, `"errorCode":"MALFORMED_QUERY"`},
		{"filter on a long text area", "SELECT Id FROM Account WHERE Description LIKE '%x%'", 400, `[{"errorCode":"INVALID_FIELD","message":"field 'Description' can not be filtered in a query call"}]`},
		{"sort on a long text area", "SELECT Id FROM Account ORDER BY Description", 400, `[{"errorCode":"INVALID_FIELD","message":"field 'Description' can not be sorted in a query call"}]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, hdr, body := c.do("GET", q(tc.soql), "")
			if status != tc.status || !strings.Contains(body, tc.want) {
				t.Errorf("%d %s\nwant %d containing %s", status, body, tc.status, tc.want)
			}
			if !strings.HasPrefix(hdr.Get("Sforce-Limit-Info"), "api-usage=") {
				t.Errorf("Sforce-Limit-Info = %q", hdr.Get("Sforce-Limit-Info"))
			}
		})
	}
}

func TestQueryPagingAndQueryAll(t *testing.T) {
	s := NewServer(Options{BatchSize: 200})
	defer s.Close()
	var ids []string
	for range 450 {
		id, _ := s.Insert("Account", map[string]any{"Name": "x"})
		ids = append(ids, id)
	}
	s.Delete("Account", ids[0])
	c := login(t, s)
	var got int
	path := q("SELECT Id FROM Account")
	pages := 0
	for path != "" {
		status, _, body := c.do("GET", path, "")
		if status != 200 {
			t.Fatalf("%d %s", status, body)
		}
		var r struct {
			TotalSize      int               `json:"totalSize"`
			Done           bool              `json:"done"`
			NextRecordsURL string            `json:"nextRecordsUrl"`
			Records        []json.RawMessage `json:"records"`
		}
		json.Unmarshal([]byte(body), &r)
		if r.TotalSize != 449 || r.Done != (r.NextRecordsURL == "") {
			t.Fatalf("page: %s", body[:120])
		}
		got += len(r.Records)
		path = r.NextRecordsURL
		pages++
	}
	if got != 449 || pages != 3 || s.Count("queryMore") != 2 {
		t.Errorf("got %d records in %d pages, queryMore %d", got, pages, s.Count("queryMore"))
	}
	_, _, body := c.do("GET", "/services/data/v62.0/queryAll?"+url.Values{"q": {"SELECT Id, IsDeleted FROM Account WHERE IsDeleted = true"}}.Encode(), "")
	if !strings.Contains(body, `"totalSize":1`) || !strings.Contains(body, ids[0]) {
		t.Errorf("queryAll = %s", body)
	}
	if status, _, body := c.do("GET", "/services/data/v62.0/query/01gBAD-200", ""); status != 400 || !strings.Contains(body, "INVALID_QUERY_LOCATOR") {
		t.Errorf("bad locator: %d %s", status, body)
	}
}

func TestCompositeAndLimits(t *testing.T) {
	s := NewServer(Options{DailyAllocation: 10})
	defer s.Close()
	s.AddHealthsyncFields()
	a, _ := s.Insert("Account", map[string]any{"Name": "Acme"})
	c := login(t, s)
	tests := []struct {
		name, method, body string
		status             int
		want               string
	}{
		{"update ok and errors in order", "PATCH", `{"allOrNone":false,"records":[{"attributes":{"type":"Account"},"id":"` + a + `","Health_Score__c":80},{"attributes":{"type":"Account"},"id":"001000000000000AAA","Name":"x"},{"attributes":{"type":"Account"},"id":"` + a + `","Health_Band__c":"Blue"}]}`, 200,
			`[{"id":"` + a + `","success":true,"errors":[]},{"success":false,"errors":[{"statusCode":"INVALID_CROSS_REFERENCE_KEY","message":"invalid cross reference id","fields":[]}]},{"success":false,"errors":[{"statusCode":"INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST","message":"Health Band: bad value for restricted picklist field: Blue","fields":["Health_Band__c"]}]}]`},
		{"number outside the field's digits", "PATCH", `{"records":[{"attributes":{"type":"Account"},"id":"` + a + `","MRR__c":10000000000000000}]}`, 200,
			`[{"success":false,"errors":[{"statusCode":"NUMBER_OUTSIDE_VALID_RANGE","message":"MRR: value outside of valid range on numeric field: 10000000000000000","fields":["MRR__c"]}]}]`},
		{"allOrNone rolls back the valid records", "PATCH", `{"allOrNone":true,"records":[{"attributes":{"type":"Account"},"id":"` + a + `","Health_Score__c":10},{"attributes":{"type":"Account"},"id":"` + a + `","Health_Band__c":"Blue"}]}`, 200,
			`[{"success":false,"errors":[{"statusCode":"ALL_OR_NONE_OPERATION_ROLLED_BACK","message":"Record rolled back because not all records were valid and the request was using AllOrNone header","fields":[]}]},{"success":false,"errors":[{"statusCode":"INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST","message":"Health Band: bad value for restricted picklist field: Blue","fields":["Health_Band__c"]}]}]`},
		{"wrong JSON type fails the request", "PATCH", `{"records":[{"attributes":{"type":"Account"},"id":"` + a + `","Health_Score__c":"high"}]}`, 400, `"errorCode":"JSON_PARSER_ERROR"`},
		{"create", "POST", `{"records":[{"attributes":{"type":"Task"},"WhatId":"` + a + `","Subject":"Call","Status":"Not Started","Priority":"High"}]}`, 200, `"success":true`},
		{"more than 200 records", "PATCH", `{"records":[` + strings.Repeat(`{"attributes":{"type":"Account"},"id":"`+a+`","Name":"x"},`, 200) + `{"attributes":{"type":"Account"},"id":"` + a + `","Name":"x"}]}`, 400,
			`[{"errorCode":"EXCEEDED_ID_LIMIT","message":"record limit reached. cannot submit more than 200 records into this call"}]`},
		{"limit reached", "POST", `{"records":[]}`, 403, `[{"errorCode":"REQUEST_LIMIT_EXCEEDED","message":"TotalRequests Limit exceeded."}]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.status == 403 {
				s.SetAPIUsage(10, 0)
			}
			status, _, body := c.do(tc.method, "/services/data/v62.0/composite/sobjects", tc.body)
			if status != tc.status || !strings.Contains(body, tc.want) {
				t.Errorf("%d %s\nwant %d containing %s", status, body, tc.status, tc.want)
			}
		})
	}
	if got := s.Get("Account", a)["Health_Score__c"]; got != 80.0 {
		t.Errorf("Health_Score__c = %v", got)
	}
	s.ExpireSessions()
	if status, _, body := c.do("GET", q("SELECT Id FROM Account"), ""); status != 401 || body != `[{"errorCode":"INVALID_SESSION_ID","message":"Session expired or invalid"}]` {
		t.Errorf("expired: %d %s", status, body)
	}
}

// Client credentials work only on the org's My Domain; the generic login
// host refuses them with Salesforce's documented error, while the other
// flows work on both and name the My Domain as instance_url.
func TestTokenHosts(t *testing.T) {
	s := NewServer(Options{RefreshToken: "5Aep861-refresh"})
	defer s.Close()
	cc := url.Values{"grant_type": {"client_credentials"}, "client_id": {"fake-client-id"}, "client_secret": {"fake-client-secret"}}
	rt := url.Values{"grant_type": {"refresh_token"}, "client_id": {"fake-client-id"}, "refresh_token": {"5Aep861-refresh"}}
	refused := map[string]string{"error": "invalid_grant", "error_description": "request not supported on this domain"}
	tests := []struct {
		name    string
		host    string
		form    url.Values
		basic   [2]string // client_id and secret sent with HTTP Basic, as simple-salesforce does
		status  int
		wantErr map[string]string // nil: a session on the My Domain
	}{
		{"client credentials on My Domain", s.URL, cc, [2]string{}, 200, nil},
		{"client credentials on the generic login host", s.LoginURL, cc, [2]string{}, 400, refused},
		{"client credentials with HTTP Basic", s.URL, url.Values{"grant_type": {"client_credentials"}}, [2]string{"fake-client-id", "fake-client-secret"}, 200, nil},
		{"client credentials with a wrong HTTP Basic secret", s.URL, url.Values{"grant_type": {"client_credentials"}}, [2]string{"fake-client-id", "nope"}, 400,
			map[string]string{"error": "invalid_client", "error_description": "invalid client credentials"}},
		{"refresh token on My Domain", s.URL, rt, [2]string{}, 200, nil},
		{"refresh token on the generic login host", s.LoginURL, rt, [2]string{}, 200, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", tc.host+"/services/oauth2/token", strings.NewReader(tc.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.basic[0] != "" {
				req.SetBasicAuth(tc.basic[0], tc.basic[1])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]string
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %v", resp.StatusCode, tc.status, body)
			}
			if tc.wantErr != nil {
				if !reflect.DeepEqual(body, tc.wantErr) {
					t.Errorf("body %v, want %v", body, tc.wantErr)
				}
				return
			}
			if body["instance_url"] != s.URL || body["access_token"] == "" {
				t.Errorf("instance_url %q (want %q), access_token %q", body["instance_url"], s.URL, body["access_token"])
			}
		})
	}
	// The generic host serves nothing but the token endpoint.
	resp, err := http.Get(s.LoginURL + "/services/data/v62.0/query?q=SELECT+Id+FROM+Account")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("REST call on the login host: %d, want 404", resp.StatusCode)
	}
}

// A call's URI and headers hold 16,384 bytes together: a longer URI is 414,
// longer headers 431, both with Salesforce's HTML body.
func TestRequestSizeLimit(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	c := login(t, s)
	base := q("SELECT Id FROM Account WHERE Name = ''")
	pad := func(total int) string { // a query of exactly total bytes of URI
		return q("SELECT Id FROM Account WHERE Name = '" + strings.Repeat("a", total-len(base)) + "'")
	}
	tests := []struct {
		name   string
		path   string
		header int // bytes of an extra header value
		status int
		body   string
	}{
		{"under the limit", pad(8000), 0, 200, `{"totalSize":0,"done":true,"records":[]}`},
		{"URI too long", pad(16385), 0, 414, `<h1>Bad Message 414</h1><pre>reason: URI Too Long</pre>`},
		{"headers push it over", pad(8000), 8400, 431, `<h1>Bad Message 431</h1><pre>reason: Request Header Fields Too Large</pre>`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := len(tc.path); tc.status == 414 && got != 16385 {
				t.Fatalf("URI is %d bytes", got)
			}
			req, _ := http.NewRequest("GET", s.URL+tc.path, nil)
			req.Header.Set("Authorization", "Bearer "+c.tok)
			if tc.header > 0 {
				req.Header.Set("X-Padding", strings.Repeat("p", tc.header))
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || string(b) != tc.body {
				t.Errorf("%d %s\nwant %d %s", resp.StatusCode, b, tc.status, tc.body)
			}
		})
	}
}

// A query locator is 0r8 plus 15 characters and lives two days on the org's
// clock; after that its nextRecordsUrl answers INVALID_QUERY_LOCATOR.
func TestQueryLocatorLivesTwoDays(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	s := NewServer(Options{BatchSize: 200, SessionTTL: 100 * time.Hour, Now: func() time.Time { return now }})
	defer s.Close()
	for range 450 {
		s.Insert("Account", map[string]any{"Name": "x"})
	}
	c := login(t, s)
	_, _, body := c.do("GET", q("SELECT Id FROM Account"), "")
	var r struct {
		NextRecordsURL string `json:"nextRecordsUrl"`
	}
	json.Unmarshal([]byte(body), &r)
	if !regexp.MustCompile(`^/services/data/v62\.0/query/0r8[0-9A-Za-z]{15}-200$`).MatchString(r.NextRecordsURL) {
		t.Fatalf("nextRecordsUrl = %q", r.NextRecordsURL)
	}
	tests := []struct {
		name   string
		age    time.Duration
		status int
		body   string // "" = any page
	}{
		{"after 47 hours", 47 * time.Hour, 200, ""},
		{"after 49 hours", 49 * time.Hour, 400, `[{"errorCode":"INVALID_QUERY_LOCATOR","message":"invalid query locator"}]`},
	}
	start := now
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now = start.Add(tc.age)
			status, _, body := c.do("GET", r.NextRecordsURL, "")
			if status != tc.status || tc.body != "" && body != tc.body {
				t.Errorf("%d %s\nwant %d %s", status, body, tc.status, tc.body)
			}
		})
	}
}

// Sforce-Query-Options: batchSize asks for 200 to 2,000 records a page
// (default 2,000); the fake keeps a request inside those bounds.
func TestQueryBatchSize(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	for range 2100 {
		s.Insert("Account", map[string]any{"Name": "x"})
	}
	c := login(t, s)
	tests := []struct {
		header string
		want   int
	}{
		{"", 2000},
		{"batchSize=500", 500},
		{"batchSize=100", 200},
		{"batchSize=5000", 2000},
		{"batchSize=many", 2000},
	}
	for _, tc := range tests {
		t.Run(tc.header, func(t *testing.T) {
			req, _ := http.NewRequest("GET", s.URL+q("SELECT Id FROM Account"), nil)
			req.Header.Set("Authorization", "Bearer "+c.tok)
			if tc.header != "" {
				req.Header.Set("Sforce-Query-Options", tc.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var r struct {
				Records []json.RawMessage `json:"records"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
				t.Fatal(err)
			}
			if len(r.Records) != tc.want {
				t.Errorf("page of %d records, want %d", len(r.Records), tc.want)
			}
		})
	}
}

// Each per-record problem comes back as its own SaveResult error, the other
// records of the call still saved.
func TestCompositeRecordErrors(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	s.AddHealthsyncFields()
	a, _ := s.Insert("Account", map[string]any{"Name": "Acme"})
	c := login(t, s)
	rec := func(fields string) string { return `{"attributes":{"type":"Account"},"id":"` + a + `"` + fields + `}` }
	tests := []struct {
		name, method, record, want string
	}{
		{"id of another object", "PATCH", `{"attributes":{"type":"Account"},"id":"003000000000000AAA","Name":"x"}`,
			`{"success":false,"errors":[{"statusCode":"MALFORMED_ID","message":"Account ID: id value of incorrect type: 003000000000000AAA","fields":["Id"]}]}`},
		{"unknown type", "PATCH", `{"attributes":{"type":"Nope__c"},"id":"` + a + `"}`,
			`{"success":false,"errors":[{"statusCode":"INVALID_TYPE","message":"sObject type 'Nope__c' is not supported.","fields":[]}]}`},
		{"unknown field", "PATCH", rec(`,"Nope__c":1`),
			`{"success":false,"errors":[{"statusCode":"INVALID_FIELD","message":"No such column 'Nope__c' on sobject of type Account","fields":["Nope__c"]}]}`},
		{"read-only field", "PATCH", rec(`,"SystemModstamp":"2025-01-01T00:00:00Z"`),
			`{"success":false,"errors":[{"statusCode":"INVALID_FIELD_FOR_INSERT_UPDATE","message":"Unable to create/update fields: SystemModstamp. Please check the security settings of this field and verify that it is read/write for your profile or permission set.","fields":["SystemModstamp"]}]}`},
		{"text too long", "PATCH", rec(`,"Health_Reasons__c":"` + strings.Repeat("x", 256) + `"`),
			`{"success":false,"errors":[{"statusCode":"STRING_TOO_LONG","message":"Health Reasons: data value too large: ` + strings.Repeat("x", 256) + ` (max length=255)","fields":["Health_Reasons__c"]}]}`},
		{"create without a required field", "POST", `{"attributes":{"type":"Account"},"Website":"acme.example"}`,
			`{"success":false,"errors":[{"statusCode":"REQUIRED_FIELD_MISSING","message":"Required fields are missing: [Name]","fields":["Name"]}]}`},
		{"create with an id", "POST", rec(`,"Name":"x"`),
			`{"success":false,"errors":[{"statusCode":"INVALID_FIELD","message":"cannot specify Id in an insert call","fields":["Id"]}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok := rec(`,"Health_Score__c":50`)
			if tc.method == "POST" {
				ok = `{"attributes":{"type":"Account"},"Name":"Beta"}`
			}
			status, _, body := c.do(tc.method, "/services/data/v62.0/composite/sobjects", `{"records":[`+tc.record+`,`+ok+`]}`)
			var res []json.RawMessage
			if err := json.Unmarshal([]byte(body), &res); status != 200 || err != nil || len(res) != 2 {
				t.Fatalf("%d %s", status, body)
			}
			if string(res[0]) != tc.want {
				t.Errorf("first result %s\nwant %s", res[0], tc.want)
			}
			if !strings.Contains(string(res[1]), `"success":true`) {
				t.Errorf("the valid record was not saved: %s", res[1])
			}
		})
	}
}

// A number field takes a JSON number or a string holding one, as the REST
// API Developer Guide's examples send; any other string fails the request.
func TestCompositeNumberAsString(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	s.AddHealthsyncFields()
	a, _ := s.Insert("Account", map[string]any{"Name": "Acme"})
	c := login(t, s)
	tests := []struct {
		value  string
		status int
		stored any
	}{
		{`-3.5`, 200, -3.5},
		{`"12"`, 200, 12.0},
		{`"high"`, 400, 12.0},
	}
	for _, tc := range tests {
		t.Run(tc.value, func(t *testing.T) {
			status, _, body := c.do("PATCH", "/services/data/v62.0/composite/sobjects",
				`{"records":[{"attributes":{"type":"Account"},"id":"`+a+`","Health_Trend__c":`+tc.value+`}]}`)
			if status != tc.status || status == 200 && !strings.Contains(body, `"success":true`) {
				t.Errorf("%d %s, want %d", status, body, tc.status)
			}
			if got := s.Get("Account", a)["Health_Trend__c"]; got != tc.stored {
				t.Errorf("stored %#v, want %#v", got, tc.stored)
			}
		})
	}
}
