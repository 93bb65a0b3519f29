package config

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/healthsync/healthsync/scoring"
)

// checker collects validation problems by key path. Messages never contain
// a Secret's value.
type checker struct {
	errs []scoring.FieldError
}

func (k *checker) add(path, format string, args ...any) {
	k.errs = append(k.errs, scoring.FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (k *checker) oneOf(path, v string, allowed ...string) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	k.add(path, "must be one of %s, not %q", strings.Join(allowed, ", "), v)
}

// scheduleParser is robfig/cron's parser as the scheduler uses it: an
// optional seconds field, CRON_TZ= / TZ= prefixes and descriptors such as
// @hourly and @every 10m.
var scheduleParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour |
	cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule parses a cron spec exactly as validation does.
func ParseSchedule(spec string) (cron.Schedule, error) {
	s := strings.TrimSpace(spec)
	rest := s
	if strings.HasPrefix(rest, "CRON_TZ=") || strings.HasPrefix(rest, "TZ=") {
		_, rest, _ = strings.Cut(rest, " ")
		rest = strings.TrimSpace(rest)
	}
	if every, ok := strings.CutPrefix(rest, "@every "); ok {
		d, err := time.ParseDuration(strings.TrimSpace(every))
		if err != nil {
			return nil, fmt.Errorf("@every needs a Go duration such as 10m or 1h30m, not %q", every)
		}
		if d < time.Second {
			return nil, fmt.Errorf("@every needs a duration of at least 1s, not %s", every)
		}
	}
	return scheduleParser.Parse(s)
}

func (k *checker) schedule(path, spec string) {
	if strings.TrimSpace(spec) == "" {
		k.add(path, "is required (a cron spec such as \"*/15 * * * *\" or \"@every 10m\")")
		return
	}
	if _, err := ParseSchedule(spec); err != nil {
		k.add(path, "invalid cron spec %q: %v", spec, err)
	}
}

// url checks an absolute http(s) URL. show=false keeps the URL out of the
// message (a Slack webhook URL is itself a credential).
func (k *checker) url(path, v string, show bool) {
	if v == "" {
		k.add(path, "is required")
		return
	}
	quoted := ""
	if show {
		quoted = fmt.Sprintf(" %q", v)
	}
	u, err := url.Parse(v)
	switch {
	case err != nil:
		k.add(path, "invalid URL%s", quoted)
	case u.Scheme != "http" && u.Scheme != "https":
		k.add(path, "URL%s must start with https:// or http://", quoted)
	case u.Host == "":
		k.add(path, "URL%s has no host", quoted)
	case u.User != nil:
		k.add(path, "URL must not contain credentials; use the auth settings")
	case u.Fragment != "":
		k.add(path, "URL%s must not have a fragment", quoted)
	}
}

func (k *checker) hostPort(path, v string) {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		k.add(path, "must be host:port (e.g. 127.0.0.1:8080 or :8080), not %q", v)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		k.add(path, "invalid port %q", port)
	}
	if strings.ContainsAny(host, "/ ") {
		k.add(path, "invalid host %q", host)
	}
}

// fraction checks 0 < v <= 1 (or 0 <= v <= 1 with zeroOK).
func (k *checker) fraction(path string, v float64, zeroOK bool) {
	if v < 0 || v > 1 || (v == 0 && !zeroOK) {
		lo := "above 0"
		if zeroOK {
			lo = "from 0"
		}
		k.add(path, "must be a fraction %s up to 1, not %g", lo, v)
	}
}

func (k *checker) positive(path string, d Duration) {
	if d <= 0 {
		k.add(path, "must be a positive duration, not %s", d)
	}
}

func (k *checker) backoff(path string, b Backoff) {
	k.positive(path+".min", b.Min)
	k.positive(path+".max", b.Max)
	if b.Min > 0 && b.Max > 0 && b.Max < b.Min {
		k.add(path+".max", "must not be below min (%s)", b.Min)
	}
}

func (k *checker) intRange(path string, v, lo, hi int) {
	if v < lo || v > hi {
		k.add(path, "must be between %d and %d, not %d", lo, hi, v)
	}
}

// token checks a bearer token's length without showing it.
func (k *checker) token(path string, s Secret) {
	if !s.IsZero() && len(s.Reveal()) < 16 {
		k.add(path, "is too short (at least 16 characters)")
	}
}

var (
	currencyRe  = regexp.MustCompile(`^[A-Z]{3}$`)
	domainRe    = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$`)
	sfNameRe    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)*(__[a-z]+)?$`)
	sfPathRe    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$`)
	hsNameRe    = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	hsObjectRe  = regexp.MustCompile(`^([a-z][a-z0-9_]*|[0-9]+-[0-9]+)$`)
	metaKeyRe   = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,40}$`)
	connNameRe  = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)
	subNameRe   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)
	logLevels   = []string{"trace", "debug", "info", "warn", "error"}
	matchKinds  = []string{MatchBillingMetadata, MatchCRMField, MatchEmailDomain}
	notifyFmts  = []string{FormatStandard, FormatSlack}
	logFormats  = []string{"json", "console"}
	sfFlows     = []string{FlowClientCredentials, FlowJWTBearer, FlowRefreshToken}
	knownValues = map[string]bool{}
)

func init() {
	for _, k := range WriteBackKeys {
		knownValues[k] = true
	}
}

// validate checks the defaulted configuration; paths are key paths.
func (c *Config) validate() []scoring.FieldError {
	k := &checker{}
	c.Store.validate(k)

	s := c.Server
	k.hostPort("server.listen", s.Listen)
	if s.MetricsListen != "" {
		k.hostPort("server.metrics_listen", s.MetricsListen)
		if s.MetricsListen == s.Listen {
			k.add("server.metrics_listen", "must differ from server.listen")
		}
	}
	k.token("server.api_token", s.APIToken)
	k.errs = append(k.errs, c.placeholderProblems()...)
	k.positive("server.shutdown_timeout", s.ShutdownTimeout)

	k.oneOf("log.level", c.Log.Level, logLevels...)
	if c.Log.Format != "" {
		k.oneOf("log.format", c.Log.Format, logFormats...)
	}

	r := c.Reporting
	if !currencyRe.MatchString(r.Currency) {
		k.add("reporting.currency", "must be an ISO 4217 code such as USD or JPY, not %q", r.Currency)
	}
	if _, err := time.LoadLocation(r.Timezone); err != nil || r.Timezone == "" || strings.EqualFold(r.Timezone, "local") {
		k.add("reporting.timezone", "must be an IANA time zone such as Asia/Tokyo or UTC, not %q", r.Timezone)
	}
	for cur, rate := range r.FX {
		p := "reporting.fx." + cur
		switch {
		case !currencyRe.MatchString(cur):
			k.add(p, "%q is not an ISO 4217 code", cur)
		case cur == r.Currency:
			k.add(p, "is the reporting currency itself")
		case rate <= 0:
			k.add(p, "rate must be positive, not %g", rate)
		}
	}

	if len(c.Connectors) == 0 {
		k.add("connectors", "at least one connector is required")
	}
	names := map[string]int{}
	for i, cn := range c.Connectors {
		p := fmt.Sprintf("connectors[%d]", i)
		cn.validate(k, p)
		if cn.Name == "" {
			continue
		}
		if j, dup := names[cn.Name]; dup {
			k.add(p+".name", "duplicate connector name %q (also connectors[%d])", cn.Name, j)
		} else {
			names[cn.Name] = i
		}
	}

	c.validateMatching(k, names)

	for _, fe := range c.Scoring.Validate() {
		k.add("scoring."+fe.Path, "%s", fe.Message)
	}
	for _, fe := range scoring.ValidateTaskRules(c.Tasks) {
		k.add("tasks"+fe.Path, "%s", fe.Message)
	}

	c.WriteBack.validate(k)

	e := c.Engine
	k.schedule("engine.reconcile_schedule", e.ReconcileSchedule)
	k.fraction("engine.max_record_drop", e.MaxRecordDrop, false)
	k.backoff("engine.write_retry", e.WriteRetry)
	k.intRange("engine.workers", e.Workers, 1, 64)

	w := c.Webhooks
	if w.MaxBodyBytes < 1<<10 || w.MaxBodyBytes > 64<<20 {
		k.add("webhooks.max_body_bytes", "must be between 1024 and 67108864 (64 MiB), not %d", w.MaxBodyBytes)
	}
	k.intRange("webhooks.workers", w.Workers, 1, 64)
	k.intRange("webhooks.max_attempts", w.MaxAttempts, 1, 100)
	k.token("webhooks.signals_token", w.SignalsToken)
	k.positive("webhooks.dedupe_ttl", w.DedupeTTL)
	k.positive("webhooks.stuck_after", w.StuckAfter)
	// 200 records is one Salesforce composite call (sObject Collections,
	// "Update Multiple Records"): a larger batch gains nothing more.
	k.intRange("webhooks.batch_size", w.BatchSize, 1, 1000)
	if w.BatchWait < 0 || w.BatchWait.D() > 10*time.Second {
		k.add("webhooks.batch_wait", "must be between 0s and 10s, not %s", w.BatchWait.D())
	}
	if w.PullThreshold < 0 {
		k.add("webhooks.pull_threshold", "must be 0 (never) or more, not %d", w.PullThreshold)
	}

	c.Notify.validate(k)
	c.Signals.validate(k)
	return k.errs
}

func (c *Config) validateMatching(k *checker, connectors map[string]int) {
	m := c.Matching
	if len(m.Rules) == 0 {
		k.add("matching.rules", "at least one rule is required")
	}
	for i, r := range m.Rules {
		p := fmt.Sprintf("matching.rules[%d]", i)
		k.oneOf(p+".kind", r.Kind, matchKinds...)
		switch r.Kind {
		case MatchBillingMetadata:
			if !metaKeyRe.MatchString(r.Key) {
				k.add(p+".key", "must be a metadata key (letters, digits, _ . -; at most 40), not %q", r.Key)
			}
		case MatchCRMField:
			if r.Field == "" {
				k.add(p+".field", "is required")
			} else if !sfPathRe.MatchString(r.Field) {
				k.add(p+".field", "invalid field name %q", r.Field)
			}
		}
		if r.Key != "" && r.Kind != MatchBillingMetadata {
			k.add(p+".key", "applies to billing_metadata rules only")
		}
		if r.Field != "" && r.Kind != MatchCRMField {
			k.add(p+".field", "applies to crm_field rules only")
		}
		if _, ok := connectors[r.Connector]; r.Connector != "" && !ok {
			k.add(p+".connector", "no connector is named %q", r.Connector)
		}
	}
	k.fraction("matching.min_match_rate", m.MinMatchRate, true)
	for i, d := range m.IgnoreDomains {
		if !domainRe.MatchString(d) {
			k.add(fmt.Sprintf("matching.ignore_domains[%d]", i), "%q is not a lower-case domain name", d)
		}
	}
}

func (w WriteBack) validate(k *checker) {
	if w.MinScoreChange < 0 || w.MinScoreChange > 100 {
		k.add("write_back.min_score_change", "must be between 0 and 100 points, not %g", w.MinScoreChange)
	}
	k.fraction("write_back.max_band_change_share", w.MaxBandChangeShare, false)
	for i, f := range w.OwnedFields {
		if !knownValues[f] {
			k.add(fmt.Sprintf("write_back.owned_fields[%d]", i), "unknown value key %q (one of %s)", f, strings.Join(WriteBackKeys, ", "))
		}
	}
	w.Salesforce.validate(k, "write_back.salesforce", sfNameRe, sfNameRe)
	w.HubSpot.validate(k, "write_back.hubspot", hsObjectRe, hsNameRe)
}

func (m CRMMapping) validate(k *checker, p string, objectRe, fieldRe *regexp.Regexp) {
	if !objectRe.MatchString(m.Object) {
		k.add(p+".object", "invalid object name %q", m.Object)
	}
	if !objectRe.MatchString(m.TaskObject) {
		k.add(p+".task_object", "invalid object name %q", m.TaskObject)
	}
	targets := map[string]string{}
	for _, key := range sortedKeys(m.Fields) {
		field := m.Fields[key]
		fp := p + ".fields." + key
		if !knownValues[key] {
			k.add(fp, "unknown value key %q (one of %s)", key, strings.Join(WriteBackKeys, ", "))
			continue
		}
		if field == "" {
			continue
		}
		if !fieldRe.MatchString(field) {
			k.add(fp, "invalid field name %q", field)
			continue
		}
		if other, dup := targets[field]; dup {
			k.add(fp, "field %q is already the target of %s", field, other)
			continue
		}
		targets[field] = key
	}
}

func (n Notify) validate(k *checker) {
	names := map[string]bool{}
	for i, s := range n.Subscribers {
		p := fmt.Sprintf("notify.subscribers[%d]", i)
		if !subNameRe.MatchString(s.Name) {
			k.add(p+".name", "must be a name of letters, digits, _ . - (got %q)", s.Name)
		} else if names[s.Name] {
			k.add(p+".name", "duplicate subscriber %q", s.Name)
		}
		names[s.Name] = true
		k.url(p+".url", s.URL, s.Format != FormatSlack)
		k.oneOf(p+".format", s.Format, notifyFmts...)
		switch {
		case s.Format == FormatStandard && s.Secret.IsZero():
			k.add(p+".secret", "is required to sign notifications (whsec_ followed by base64)")
		case s.Format == FormatStandard:
			if msg := checkWebhookSecret(s.Secret); msg != "" {
				k.add(p+".secret", "%s", msg)
			}
		case s.Format == FormatSlack && !s.Secret.IsZero():
			k.add(p+".secret", "is not used by the slack format")
		}
		if len(s.Events) == 0 {
			k.add(p+".events", "at least one event is required")
		}
		for j, ev := range s.Events {
			k.oneOf(fmt.Sprintf("%s.events[%d]", p, j), ev, NotifyEvents...)
		}
	}
	k.intRange("notify.max_attempts", n.MaxAttempts, 1, 100)
	k.backoff("notify.backoff", n.Backoff)
	k.positive("notify.timeout", n.Timeout)
}

// checkWebhookSecret applies the Standard Webhooks rule: base64 of 24 to 64
// bytes, optionally prefixed with whsec_. The message never shows the value.
func checkWebhookSecret(s Secret) string {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s.Reveal(), "whsec_"))
	if err != nil {
		return "must be whsec_ followed by standard base64"
	}
	if len(raw) < 24 || len(raw) > 64 {
		return fmt.Sprintf("must encode 24 to 64 bytes, not %d", len(raw))
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
