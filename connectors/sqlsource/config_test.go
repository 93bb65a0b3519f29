package sqlsource

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
)

func TestConfigValidate(t *testing.T) {
	valid := func() Config {
		return Config{Name: "product-db", Driver: "postgres", DSN: config.NewSecret("postgres://r@db/product"),
			Query: "SELECT account, metric, value, time FROM s WHERE time > :since"}
	}
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"valid", func(*Config) {}, ""},
		{"everything missing", func(c *Config) { *c = Config{Name: "x"} },
			"sql connector \"x\":\ndriver: \"\", want postgres\ndsn: required\nquery: required"},
		{"query without :since", func(c *Config) { c.Query = "SELECT account, metric, value, time FROM s -- :since" },
			"sql connector \"product-db\":\nquery: must compare the time column with :since (e.g. WHERE created_at > :since), or every run reads everything"},
		{"unknown driver, bad system, negatives", func(c *Config) {
			c.Driver, c.AccountSystem, c.Overlap, c.RowLimit, c.BatchSize, c.StatementTimeout, c.FutureSkew = "mysql", "zendesk", -1, -1, -1, time.Microsecond, -1
		}, "sql connector \"product-db\":\ndriver: \"mysql\", want postgres\naccount_system: \"zendesk\", want salesforce, hubspot, stripe, chargebee or external\n" +
			"overlap: must not be negative\nrow_limit: must not be negative\nbatch_size: must not be negative\nfuture_skew: must not be negative\nstatement_timeout: at least 1ms"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.edit(&c)
			got := ""
			if err := c.Validate(); err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Fatalf("\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestPasswordNeverInErrors(t *testing.T) {
	tests := []struct{ dsn, pw string }{
		{"postgres://reader:s3cr3t-Pw@127.0.0.1:1/product?sslmode=disable&connect_timeout=1", "s3cr3t-Pw"},
		{"host=127.0.0.1 port=1 user=reader password=s3cr3t-Pw dbname=product sslmode=disable connect_timeout=1", "s3cr3t-Pw"},
		{"postgres://reader:s3cr3t-Pw@127.0.0.1:1/product?sslmode=bogus", "s3cr3t-Pw"},
	}
	for _, tc := range tests {
		if got := passwordOf(tc.dsn); got != tc.pw {
			t.Fatalf("passwordOf(%q) = %q", tc.dsn, got)
		}
		c, err := New(Config{Name: "p", Driver: "postgres", DSN: config.NewSecret(tc.dsn), Query: "SELECT 1 WHERE now() > :since"}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, err := range c.Pull(context.Background(), record.PullRequest{}) {
			if err == nil || strings.Contains(err.Error(), tc.pw) {
				t.Fatalf("error %v: want one without the password", err)
			}
		}
		c.Close()
	}
	// The wrapper hides the password whatever the driver says, and keeps
	// the driver's error reachable.
	base := errors.New("dial postgres://reader:s3cr3t-Pw@db failed")
	err := &redacted{err: base, pw: "s3cr3t-Pw"}
	if err.Error() != "dial postgres://reader:xxxxx@db failed" || !errors.Is(err, base) {
		t.Fatalf("redacted: %q", err)
	}
}

func TestBadCursor(t *testing.T) {
	c, err := New(Config{Name: "p", Driver: "postgres", DSN: config.NewSecret("postgres://r@127.0.0.1:1/x"), Query: "SELECT 1 WHERE now() > :since"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, err := range c.Pull(context.Background(), record.PullRequest{Cursors: map[string][]byte{StreamSignals: []byte("{")}}) {
		if err == nil || !strings.HasPrefix(err.Error(), `sql connector "p": decoding cursor: `) {
			t.Fatalf("err %v", err)
		}
	}
}
