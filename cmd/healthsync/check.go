package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/httpclient"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/engine"
)

// checkResult is one connector's line of `healthsync check`.
type checkResult struct {
	connector, kind string
	took            time.Duration
	records         int // in the first page
	preflight       int // fields checked, CRMs only
	crm             bool
	err             error
	hint            string
}

// cmdCheck authenticates to every connector, reads one page, runs the CRM
// preflight and prints one line per connector. It does not open the store
// (it works beside a running daemon) and never retries: a DNS failure or a
// 401 answers at once.
func cmdCheck(e *env) error {
	fs := configFlags(e, "check", "--config FILE [--connector NAME] [--timeout D]")
	only := fs.String("connector", "", "check only this connector")
	timeout := fs.Duration("timeout", 15*time.Second, "time allowed per connector")
	if err := parseFlags(fs.FlagSet, e.args); err != nil {
		return err
	}
	cfg, err := loadConfig(*fs.cfgPath)
	if err != nil {
		return err
	}
	if err := checkConnectorName(cfg, *only); err != nil {
		return err
	}
	c := *cfg
	c.Connectors = nil
	for _, cc := range cfg.Connectors {
		if *only != "" && cc.Name != *only {
			continue
		}
		cc.HTTP.RetryMax = -1 // no retries: the answer is the first attempt's
		if cc.HTTP.Timeout.D() <= 0 || cc.HTTP.Timeout.D() > *timeout {
			cc.HTTP.Timeout = config.Duration(*timeout)
		}
		c.Connectors = append(c.Connectors, cc)
	}
	w, err := wire(&c, zerolog.Nop())
	if err != nil {
		return usageError{err}
	}
	results := make([]checkResult, len(w.connectors))
	var wg sync.WaitGroup
	for i, conn := range w.connectors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(e.ctx, *timeout)
			defer cancel()
			results[i] = checkConnector(ctx, &c, conn)
		}()
	}
	wg.Wait()
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	failed := 0
	for _, r := range results {
		took := fmt.Sprintf("%.2fs", r.took.Seconds())
		if r.err != nil {
			failed++
			fmt.Fprintf(tw, "%s\t%s\tFAILED\t%s\t%s\n", r.connector, r.kind, took, shortenURLs(r.err.Error()))
			fmt.Fprintf(tw, "\t\t\t\t-> %s\n", r.hint)
			continue
		}
		what := fmt.Sprintf("authenticated, first page read (%d records)", r.records)
		if r.crm {
			what += fmt.Sprintf(", %d mapped fields writable", r.preflight)
		}
		fmt.Fprintf(tw, "%s\t%s\tok\t%s\t%s\n", r.connector, r.kind, took, what)
	}
	tw.Flush()
	if failed > 0 {
		return fmt.Errorf("%d of %d connectors failed the check", failed, len(results))
	}
	return nil
}

// checkConnectorName fails, listing the valid names, when name is set and
// names no connector.
func checkConnectorName(cfg *config.Config, name string) error {
	if name == "" {
		return nil
	}
	var names []string
	for _, cc := range cfg.Connectors {
		if cc.Name == name {
			return nil
		}
		names = append(names, cc.Name)
	}
	return usagef("--connector %q: no such connector; valid names: %s", name, strings.Join(names, ", "))
}

func checkConnector(ctx context.Context, cfg *config.Config, c *engine.Connector) checkResult {
	r := checkResult{connector: c.Name(), kind: c.Config.Kind, crm: c.IsCRM()}
	start := time.Now()
	defer func() { r.took = time.Since(start) }()
	var pageErr error
	if fp, ok := c.Source.(firstPager); ok {
		r.records, pageErr = fp.FirstPage(ctx)
	} else {
		for b, err := range c.Source.Pull(ctx, record.PullRequest{Now: time.Now()}) {
			if pageErr = err; err != nil {
				break
			}
			r.records = len(b.Accounts) + len(b.Deals) + len(b.Customers) + len(b.Subscriptions) + len(b.Invoices) + len(b.Tasks)
			break // one page is the check
		}
	}
	if err := pageErr; err != nil {
		r.err = fmt.Errorf("reading the first page: %w", err)
		r.hint = checkHint(err, c.Config)
		r.took = time.Since(start)
		return r
	}
	if c.IsCRM() && c.Preflight != nil {
		m := cfg.WriteBack.Mapping(c.Config.Kind)
		var fields []string
		for _, k := range config.WriteBackKeys {
			if f := m.Fields[k]; f != "" {
				fields = append(fields, f)
			}
		}
		problems, err := c.Preflight.Preflight(ctx, map[string][]string{m.Object: fields})
		switch {
		case err != nil:
			r.err = fmt.Errorf("preflight: %w", err)
			r.hint = checkHint(err, c.Config)
		case len(problems) > 0:
			var ps []string
			for _, p := range problems {
				ps = append(ps, p.Object+"."+p.Field+" "+p.Problem)
			}
			r.err = fmt.Errorf("preflight: %s", strings.Join(ps, "; "))
			if c.Config.Kind == config.KindHubSpot {
				r.hint = "run `healthsync setup hubspot`, or map write_back.hubspot.fields to existing properties"
			} else {
				r.hint = "create the fields (see the README's Salesforce setup) and give the integration user edit access, or change write_back.salesforce.fields"
			}
		default:
			r.preflight = len(fields)
		}
	}
	r.took = time.Since(start)
	return r
}

// checkHint says what to do about err.
func checkHint(err error, cc config.Connector) string {
	var he *httpclient.Error
	var dns *net.DNSError
	switch {
	case errors.As(err, &dns):
		return fmt.Sprintf("cannot resolve %s: check the connector's base_url/login_url/site and this host's DNS", dns.Name)
	case errors.Is(err, syscall.ECONNREFUSED):
		return "nothing accepts connections there: check base_url/login_url and any proxy or firewall"
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return "no answer in time: check the network path (proxy, firewall) or raise --timeout"
	case errors.As(err, &he) && (he.Status == http.StatusUnauthorized || he.Code == "invalid_client" || he.Code == "invalid_grant" || he.Code == "INVALID_SESSION_ID"):
		return "the credentials were refused: check connectors." + cc.Name + ".auth (wrong, expired or revoked; for a ${VAR}, the variable's value)"
	case errors.As(err, &he) && he.Status == http.StatusForbidden:
		return "authenticated but not allowed: give the key or integration user read access to the objects healthsync pulls (see the README's vendor setup)"
	case errors.As(err, &he) && he.Status == http.StatusTooManyRequests:
		return "rate limited right now: the credentials work; lower rate_limit or try again later"
	case errors.As(err, &he) && he.Status >= 500:
		return "the vendor failed: try again later and check its status page"
	case errors.As(err, &he) && he.Status == http.StatusNotFound:
		return "not found: check base_url, api_version and site"
	}
	return "see the error above"
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

var urlInText = regexp.MustCompile(`https?://[^\s"'<>]+`)

// keyParams are the query parameters worth keeping when a URL in an error
// is shortened: the ones that say which page or object it was.
var keyParams = []string{"limit", "starting_after", "ending_before", "after", "offset", "cursor", "page", "id", "object"}

// shortenURLs rewrites each long URL in s (over 80 characters; a SOQL query
// or a HubSpot property list runs to kilobytes) to its path and key
// parameters, values cut at 24 characters.
func shortenURLs(s string) string {
	return urlInText.ReplaceAllStringFunc(s, func(raw string) string {
		trail := strings.TrimRight(raw, ".,;:)")
		suffix := raw[len(trail):]
		if len(trail) <= 80 {
			return raw
		}
		u, err := url.Parse(trail)
		if err != nil {
			return raw
		}
		out := u.EscapedPath()
		var kept []string
		q := u.Query()
		for _, k := range keyParams {
			if v := q.Get(k); v != "" {
				if len(v) > 24 {
					v = v[:24] + "…"
				}
				kept = append(kept, k+"="+v)
			}
		}
		if len(kept) > 0 {
			out += "?" + strings.Join(kept, "&")
		} else if u.RawQuery != "" {
			out += "?…"
		}
		return out + suffix
	})
}
