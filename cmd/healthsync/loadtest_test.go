package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/healthsync/healthsync/internal/pgtest"
	"github.com/healthsync/healthsync/sync/store/postgres"
)

// TestLoadtestComparesWithBareHandler runs a short `healthsync loadtest`
// and checks that one run prints the verified ingest rate, the bare
// handler's rate under the same senders and payloads, and their ratio,
// with no failed request in either phase.
func TestLoadtestComparesWithBareHandler(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo stack")
	}
	code, text, stderr := runCLI(t, "loadtest", "--duration", "300ms", "--changes", "1", "--accounts", "40", "--concurrency", "4")
	if code != 0 {
		t.Fatalf("loadtest exit %d\n%s\n%s", code, text, stderr)
	}
	re := regexp.MustCompile(`(?m)^stripe ingest \(bbolt, 1 daemon; 4 senders, 300ms, fsync on, processing concurrently\): \d+ events acknowledged \(0 failed\), (\d+) events/s;.*\n` +
		`bare net/http handler \(4 senders, 300ms, reads the body, answers 200\): \d+ events acknowledged \(0 failed\), (\d+) events/s;.*\n` +
		`verified ingest is (\d+)% of the bare handler's rate \((\d+) / (\d+) events/s\)$`)
	m := re.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("output lacks the ingest, bare handler and ratio lines:\n%s", text)
	}
	n := make([]float64, len(m))
	for i := 1; i < len(m); i++ {
		n[i], _ = strconv.ParseFloat(m[i], 64)
	}
	if n[1] == 0 || n[2] == 0 || n[4] != n[1] || n[5] != n[2] || math.Abs(n[3]-100*n[1]/n[2]) > 1 {
		t.Errorf("verified %v/s, bare %v/s, ratio %v%% (%v / %v): inconsistent", n[1], n[2], n[3], n[4], n[5])
	}
}

// TestBareHandler pins the bare handler: it reads the whole body and
// answers 200, and refuses a body over the receiver's 1 MiB limit.
func TestBareHandler(t *testing.T) {
	tests := []struct {
		size int
		want int
	}{
		{0, http.StatusOK},
		{300, http.StatusOK},
		{bareMaxBody, http.StatusOK},
		{bareMaxBody + 1, http.StatusRequestEntityTooLarge},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.size), func(t *testing.T) {
			rec := httptest.NewRecorder()
			bareHandler(rec, httptest.NewRequest(http.MethodPost, "/webhooks/stripe", bytes.NewReader(make([]byte, tc.size))))
			if rec.Code != tc.want {
				t.Errorf("status %d, want %d", rec.Code, tc.want)
			}
		})
	}
}

// TestParseLoadtest pins loadtest's flags: the defaults, the PostgreSQL
// run's (a default schema named after the time), and the refused
// combinations.
func TestParseLoadtest(t *testing.T) {
	defaults := loadOptions{duration: 10 * time.Second, conc: 32, accounts: 300, changes: 20, process: true, bare: true, replicas: 2, source: "stripe"}
	with := func(f func(o *loadOptions)) loadOptions { o := defaults; f(&o); return o }
	const dsn = "postgres://hs:pw@127.0.0.1:5432/hs"
	tests := []struct {
		name    string
		args    []string
		want    loadOptions
		wantErr string
	}{
		{"defaults", nil, defaults, ""},
		{"bbolt flags", []string{"--duration", "2s", "--concurrency", "4", "--accounts", "40", "--changes", "1", "--bare=false", "--process=false"},
			with(func(o *loadOptions) {
				o.duration, o.conc, o.accounts, o.changes, o.bare, o.process = 2*time.Second, 4, 40, 1, false, false
			}), ""},
		{"postgres", []string{"--postgres", dsn, "--replicas", "3", "--schema", "lt"},
			with(func(o *loadOptions) { o.postgres, o.replicas, o.schema = dsn, 3, "lt" }), ""},
		{"postgresql scheme", []string{"--postgres", "postgresql://h/db", "--schema", "lt"},
			with(func(o *loadOptions) { o.postgres, o.schema = "postgresql://h/db", "lt" }), ""},
		{"no replicas", []string{"--postgres", dsn, "--replicas", "0"}, loadOptions{}, "--replicas must be at least 1"},
		{"no senders", []string{"--concurrency", "0"}, loadOptions{}, "--concurrency must be at least 1"},
		{"unknown source", []string{"--source", "kafka"}, loadOptions{}, "--source: stripe or segment"},
		{"replicas alone", []string{"--replicas", "3"}, loadOptions{}, "--replicas and --schema need --postgres"},
		{"schema alone", []string{"--schema", "lt"}, loadOptions{}, "--replicas and --schema need --postgres"},
		{"not a URL", []string{"--postgres", "host=db user=hs"}, loadOptions{}, "--postgres wants a URL, postgres://USER:PASSWORD@HOST:PORT/DATABASE"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseLoadtest(&env{ctx: context.Background(), stdout: io.Discard, stderr: io.Discard, args: tc.args})
			if tc.wantErr != "" {
				var ue usageError
				if err == nil || err.Error() != tc.wantErr || !errors.As(err, &ue) {
					t.Fatalf("error %v, want the usage error %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("options %+v, want %+v", got, tc.want)
			}
		})
	}
	t.Run("default schema", func(t *testing.T) {
		before := time.Now().Unix()
		got, err := parseLoadtest(&env{ctx: context.Background(), stdout: io.Discard, stderr: io.Discard, args: []string{"--postgres", dsn}})
		if err != nil {
			t.Fatal(err)
		}
		n, err := strconv.ParseInt(strings.TrimPrefix(got.schema, "healthsync_loadtest_"), 10, 64)
		if err != nil || n < before || n > time.Now().Unix() {
			t.Errorf("default schema %q, want healthsync_loadtest_ and the Unix time", got.schema)
		}
	})
}

// TestLoadtestPostgres runs a short `healthsync loadtest --postgres URL
// --replicas 2` against the test database: after the bbolt figures come
// the PostgreSQL ones, every event acknowledged by one of the two daemons,
// with the server's durability settings, and the password appears nowhere.
func TestLoadtestPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo stack and two daemons")
	}
	url, schema := pgtest.Schema(t)
	code, text, stderr := runCLI(t, "loadtest", "--duration", "300ms", "--changes", "1", "--accounts", "40", "--concurrency", "4", "--bare=false",
		"--postgres", url, "--replicas", "2", "--schema", schema)
	if code != 0 {
		t.Fatalf("loadtest exit %d\n%s\n%s", code, text, stderr)
	}
	re := regexp.MustCompile(`(?m)^stripe ingest \(bbolt, 1 daemon; 4 senders, 300ms, fsync on, processing concurrently\): [1-9]\d* events acknowledged \(0 failed\), \d+ events/s;.*\n` +
		`ingest \(postgres at ` + regexp.QuoteMeta(postgres.Address(url)) + `, 2 daemons; 4 senders, 300ms, fsync (on|off), synchronous_commit \w+, processing concurrently\): [1-9]\d* events acknowledged \(0 failed\), \d+ events/s; acknowledge p50 .* p99 .*\n` +
		`postgres schema ` + schema + ` left in the database`)
	if !re.MatchString(text) {
		t.Errorf("output lacks the bbolt and postgres ingest lines:\n%s", text)
	}
	pw := strings.SplitN(strings.TrimPrefix(url, "postgres://"), "@", 2)[0]
	if _, pass, ok := strings.Cut(pw, ":"); ok && pass != "" && strings.Contains(text+stderr, pass) {
		t.Error("the database password appears in loadtest's output")
	}
}
