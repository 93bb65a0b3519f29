package salesforce_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/httpclient"
	"github.com/healthsync/healthsync/connectors/salesforce"
	"github.com/healthsync/healthsync/connectors/salesforce/salesforcetest"
)

var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
)

func rsaKey(t testing.TB) *rsa.PrivateKey {
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		testKey = k
	})
	return testKey
}

func TestAuthFlows(t *testing.T) {
	key := rsaKey(t)
	other, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(key)
	pemPKCS8 := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}))
	pemPKCS1 := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	keyFile := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(keyFile, []byte(pemPKCS1), 0o600); err != nil {
		t.Fatal(err)
	}
	otherPEM := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(other)}))

	tests := []struct {
		name     string
		auth     config.Auth
		generic  bool   // log in on the generic login host instead of the My Domain
		wantCode string // "" = success
	}{
		{name: "client credentials", auth: config.Auth{Flow: config.FlowClientCredentials, ClientID: "fake-client-id", ClientSecret: config.NewSecret("fake-client-secret")}},
		{name: "client credentials on the generic login host", auth: config.Auth{Flow: config.FlowClientCredentials, ClientID: "fake-client-id", ClientSecret: config.NewSecret("fake-client-secret")}, generic: true, wantCode: "invalid_grant"},
		{name: "client credentials wrong secret", auth: config.Auth{Flow: config.FlowClientCredentials, ClientID: "fake-client-id", ClientSecret: config.NewSecret("wrong-secret-value")}, wantCode: "invalid_client"},
		{name: "refresh token", auth: config.Auth{Flow: config.FlowRefreshToken, ClientID: "fake-client-id", ClientSecret: config.NewSecret("fake-client-secret"), RefreshToken: config.NewSecret("5Aep861-refresh")}},
		{name: "refresh token revoked", auth: config.Auth{Flow: config.FlowRefreshToken, ClientID: "fake-client-id", RefreshToken: config.NewSecret("revoked-refresh")}, wantCode: "invalid_grant"},
		{name: "jwt bearer pkcs8 inline", auth: config.Auth{Flow: config.FlowJWTBearer, ClientID: "fake-client-id", Username: "integration@example.com", PrivateKey: config.NewSecret(pemPKCS8)}},
		{name: "jwt bearer pkcs1 file", auth: config.Auth{Flow: config.FlowJWTBearer, ClientID: "fake-client-id", Username: "integration@example.com", PrivateKeyFile: keyFile}},
		{name: "jwt bearer on the generic login host", auth: config.Auth{Flow: config.FlowJWTBearer, ClientID: "fake-client-id", Username: "integration@example.com", PrivateKey: config.NewSecret(pemPKCS8)}, generic: true},
		{name: "refresh token on the generic login host", auth: config.Auth{Flow: config.FlowRefreshToken, ClientID: "fake-client-id", RefreshToken: config.NewSecret("5Aep861-refresh")}, generic: true},
		{name: "jwt bearer wrong key", auth: config.Auth{Flow: config.FlowJWTBearer, ClientID: "fake-client-id", Username: "integration@example.com", PrivateKey: config.NewSecret(otherPEM)}, wantCode: "invalid_grant"},
		{name: "jwt bearer wrong user", auth: config.Auth{Flow: config.FlowJWTBearer, ClientID: "fake-client-id", Username: "someone@example.com", PrivateKey: config.NewSecret(pemPKCS8)}, wantCode: "invalid_grant"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, salesforcetest.Options{PublicKey: &key.PublicKey, Username: "integration@example.com", RefreshToken: "5Aep861-refresh"})
			e.seedAccounts(1)
			e.cfg.Auth = tc.auth
			if tc.generic {
				e.cfg.LoginURL = e.fake.LoginURL
			}
			var logs bytes.Buffer
			c := e.client(salesforce.Options{Logger: zerolog.New(&logs).Level(zerolog.TraceLevel), Now: e.clock.Now})
			_, err := c.Fetch(context.Background(), "Account", e.fake.All("Account")[0]["Id"].(string))
			if tc.wantCode == "" {
				if err != nil {
					t.Fatalf("Fetch: %v", err)
				}
			} else {
				var he *httpclient.Error
				if !errors.As(err, &he) || he.Code != tc.wantCode || he.Status != 400 {
					t.Fatalf("err = %v, want %s", err, tc.wantCode)
				}
				if tc.generic && !strings.Contains(err.Error(), "use the org's My Domain URL as login_url") {
					t.Errorf("err = %v, want a hint to use the My Domain URL", err)
				}
				if e.fake.Count("query") != 0 {
					t.Error("queried without a session")
				}
			}
			for _, s := range []config.Secret{tc.auth.ClientSecret, tc.auth.RefreshToken, tc.auth.PrivateKey} {
				if !s.IsZero() && (strings.Contains(logs.String(), s.Reveal()) || err != nil && strings.Contains(err.Error(), s.Reveal())) {
					t.Error("a secret leaked into logs or the error")
				}
			}
		})
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  config.Connector
		want string
	}{
		{"missing secret", config.Connector{Auth: config.Auth{Flow: config.FlowClientCredentials, ClientID: "x"}}, "needs client_secret"},
		{"jwt without key", config.Connector{Auth: config.Auth{Flow: config.FlowJWTBearer, ClientID: "x", Username: "u"}}, "needs private_key"},
		{"bad key", config.Connector{Auth: config.Auth{Flow: config.FlowJWTBearer, ClientID: "x", Username: "u", PrivateKey: config.NewSecret("nope")}}, "no PEM block"},
		{"unknown flow", config.Connector{Auth: config.Auth{Flow: "password"}}, `auth flow "password"`},
		{"bad version", config.Connector{APIVersion: "v62", Auth: config.Auth{ClientID: "x", ClientSecret: config.NewSecret("y")}}, "api_version"},
		{"bad share", config.Connector{MaxAPIShare: 1.5, Auth: config.Auth{ClientID: "x", ClientSecret: config.NewSecret("y")}}, "max_api_share"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := salesforce.New(tc.cfg, salesforce.Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// On 401 INVALID_SESSION_ID the client logs in again once, shared by all
// concurrent callers, and retries.
func TestReauthOnExpiredSession(t *testing.T) {
	e := newEnv(t, salesforcetest.Options{SessionTTL: time.Hour})
	ids := e.seedAccounts(1)
	c := e.client(salesforce.Options{})
	ctx := context.Background()
	if _, err := c.Fetch(ctx, "Account", ids[0]); err != nil {
		t.Fatal(err)
	}
	if n := e.fake.Count("token"); n != 1 {
		t.Fatalf("token calls = %d", n)
	}
	e.fake.ExpireSessions()
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { _, errs[i] = c.Fetch(ctx, "Account", ids[0]) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if n := e.fake.Count("token"); n != 2 {
		t.Errorf("token calls after expiry = %d, want 2 (one shared re-auth)", n)
	}
	// Sessions also expire by age on the org's clock.
	e.clock.Advance(2 * time.Hour)
	if _, err := c.Fetch(ctx, "Account", ids[0]); err != nil {
		t.Fatal(err)
	}
	if n := e.fake.Count("token"); n != 3 {
		t.Errorf("token calls after TTL = %d, want 3", n)
	}
}

func TestReauthFailsClearly(t *testing.T) {
	e := newEnv(t, salesforcetest.Options{})
	ids := e.seedAccounts(1)
	c := e.client(salesforce.Options{})
	e.fake.InjectFault(salesforcetest.Fault{Path: "/query", Status: 401, Times: 5})
	_, err := c.Fetch(context.Background(), "Account", ids[0])
	var he *httpclient.Error
	if err == nil || !strings.Contains(err.Error(), "again right after re-authenticating") || !errors.As(err, &he) || he.Code != "INVALID_SESSION_ID" {
		t.Fatalf("err = %v", err)
	}
	if n := e.fake.Count("token"); n != 2 {
		t.Errorf("token calls = %d, want 2 (login, one re-auth)", n)
	}
}
