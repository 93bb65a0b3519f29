package salesforce

import "testing"

// The JWT audience is login or test.salesforce.com, never the login URL
// itself when that is a My Domain.
func TestJWTAudience(t *testing.T) {
	tests := []struct{ login, want string }{
		{"https://login.salesforce.com", "https://login.salesforce.com"},
		{"https://test.salesforce.com", "https://test.salesforce.com"},
		{"https://acme.my.salesforce.com", "https://login.salesforce.com"},
		{"https://ACME--uat.sandbox.my.salesforce.com", "https://test.salesforce.com"},
		{"http://127.0.0.1:8443", "https://login.salesforce.com"},
	}
	for _, tc := range tests {
		t.Run(tc.login, func(t *testing.T) {
			if got := jwtAudience(tc.login); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}
