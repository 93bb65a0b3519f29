package scoring

import (
	"fmt"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
)

// RuleEnv is every variable a task rule's condition and templates can use.
// Conditions name them as written in the expr tags (`band == "at_risk" &&
// arr >= 1000000`); templates as `{{.account.name}}`, `{{.score}}`.
// Money is in major units of the reporting currency; rates are fractions.
type RuleEnv struct {
	Account AccountEnv `expr:"account"`
	// Score is the health score 0-100 (the override when one is set).
	Score float64 `expr:"score"`
	// PreviousScore is the score TrendDays ago (equal to Score when unknown).
	PreviousScore float64 `expr:"previous_score"`
	// ScoreChange = Score - PreviousScore (negative when it dropped).
	ScoreChange float64  `expr:"score_change"`
	TrendDays   int      `expr:"trend_days"`
	Band        string   `expr:"band"`
	Override    bool     `expr:"override"`
	Reasons     []string `expr:"reasons"`
	Missing     []string `expr:"missing"`
	// Measures holds each measure's raw value by name (missing ones absent).
	Measures          map[string]float64 `expr:"measures"`
	MRR               float64            `expr:"mrr"`
	ARR               float64            `expr:"arr"`
	Touch             string             `expr:"touch"`
	Phase             string             `expr:"phase"`
	Onboarded         bool               `expr:"onboarded"`
	DaysSinceStart    int                `expr:"days_since_start"`
	MonthsSinceStart  int                `expr:"months_since_start"`
	DaysToRenewal     int                `expr:"days_to_renewal"` // -1 when no renewal date
	FailedPayments30d int                `expr:"failed_payments_30d"`
	FailedPayments90d int                `expr:"failed_payments_90d"`
	PlanUsage         float64            `expr:"plan_usage"` // usage / plan limit, 0 when unknown
	OpenDeals         int                `expr:"open_deals"`
	OpenUpsell        bool               `expr:"open_upsell"`
}

// AccountEnv is the CRM account as rules see it.
type AccountEnv struct {
	ID       string         `expr:"id"`
	Name     string         `expr:"name"`
	OwnerID  string         `expr:"owner_id"`
	Industry string         `expr:"industry"`
	Fields   map[string]any `expr:"fields"`
}

func (e *RuleEnv) templateData() map[string]any {
	fields := e.Account.Fields
	if fields == nil {
		fields = map[string]any{}
	}
	measures := e.Measures
	if measures == nil {
		measures = map[string]float64{}
	}
	return map[string]any{
		"account": map[string]any{
			"id": e.Account.ID, "name": e.Account.Name, "owner_id": e.Account.OwnerID,
			"industry": e.Account.Industry, "fields": fields,
		},
		"score": e.Score, "previous_score": e.PreviousScore, "score_change": e.ScoreChange,
		"trend_days": e.TrendDays, "band": e.Band, "override": e.Override,
		"reasons": e.Reasons, "missing": e.Missing, "measures": measures,
		"mrr": e.MRR, "arr": e.ARR, "touch": e.Touch, "phase": e.Phase,
		"onboarded": e.Onboarded, "days_since_start": e.DaysSinceStart,
		"months_since_start": e.MonthsSinceStart, "days_to_renewal": e.DaysToRenewal,
		"failed_payments_30d": e.FailedPayments30d, "failed_payments_90d": e.FailedPayments90d,
		"plan_usage": e.PlanUsage, "open_deals": e.OpenDeals, "open_upsell": e.OpenUpsell,
	}
}

var templateFuncs = template.FuncMap{
	"join": func(s []string, sep string) string { return strings.Join(s, sep) },
	"neg":  func(f float64) float64 { return -f },
	"pct":  func(f float64) float64 { return f * 100 },
}

// vmPool reuses expr virtual machines (their stacks) across evaluations.
var vmPool = sync.Pool{New: func() any { return new(vm.VM) }}

// CompiledRules are task rules with their conditions compiled and templates
// parsed, ready to evaluate for many accounts concurrently.
type CompiledRules struct {
	rules []compiledRule
	// usesMeasures is true when a condition reads the measures map, which
	// is then filled (it costs an allocation per account).
	usesMeasures bool
}

type compiledRule struct {
	TaskRule
	when    *vm.Program
	subject *template.Template
	body    *template.Template
}

// CompileRules compiles and type-checks every rule (see ValidateTaskRules)
// and fills defaults (owner account_owner, priority normal, period month).
func CompileRules(rules []TaskRule) (*CompiledRules, error) {
	c, errs := compileRules(rules)
	if len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Error()
		}
		return nil, fmt.Errorf("compiling task rules: %s", strings.Join(msgs, "; "))
	}
	return c, nil
}

// ValidateTaskRules reports every problem of the rules at once, with paths
// relative to the tasks section ("[1].when"). Conditions are compiled and
// type-checked against RuleEnv, templates are parsed and executed on a
// sample so a misspelt variable is an error.
func ValidateTaskRules(rules []TaskRule) []FieldError {
	_, errs := compileRules(rules)
	return errs
}

func compileRules(rules []TaskRule) (*CompiledRules, []FieldError) {
	var errs []FieldError
	add := func(path, format string, a ...any) {
		errs = append(errs, FieldError{Path: path, Message: fmt.Sprintf(format, a...)})
	}
	sample := sampleEnv().templateData()
	out := &CompiledRules{}
	names := map[string]int{}
	for i, r := range rules {
		p := fmt.Sprintf("[%d]", i)
		if r.Name == "" {
			add(p+".name", "is required")
		} else if strings.ContainsAny(r.Name, "/ ") {
			add(p+".name", "must not contain spaces or '/' (it is part of the dedupe key)")
		} else if j, dup := names[r.Name]; dup {
			add(p+".name", "duplicate rule %q (also [%d])", r.Name, j)
		} else {
			names[r.Name] = i
		}
		cr := compiledRule{TaskRule: r}
		if strings.TrimSpace(r.When) == "" {
			add(p+".when", "is required")
		} else if prog, err := expr.Compile(r.When, expr.Env(RuleEnv{}), expr.AsBool()); err != nil {
			add(p+".when", "%s", oneLine(err.Error()))
		} else {
			cr.when = prog
			if strings.Contains(r.When, "measures") {
				out.usesMeasures = true
			}
		}
		if strings.TrimSpace(r.Subject) == "" {
			add(p+".subject", "is required")
		}
		cr.subject = parseTemplate(r.Name+".subject", r.Subject, sample, func(msg string) { add(p+".subject", "%s", msg) })
		cr.body = parseTemplate(r.Name+".body", r.Body, sample, func(msg string) { add(p+".body", "%s", msg) })
		if cr.Owner == "" {
			cr.Owner = OwnerAccountOwner
		}
		if cr.Priority == "" {
			cr.Priority = "normal"
		}
		switch cr.Priority {
		case "high", "normal", "low":
		default:
			add(p+".priority", "must be high, normal or low, not %q", r.Priority)
		}
		if cr.Period == "" {
			cr.Period = PeriodMonth
		}
		switch cr.Period {
		case PeriodDay, PeriodWeek, PeriodMonth, PeriodQuarter, PeriodYear, PeriodOnce:
		default:
			add(p+".period", "must be day, week, month, quarter, year or once, not %q", r.Period)
		}
		if r.DueInDays < 0 {
			add(p+".due_in_days", "must not be negative")
		}
		if r.CooldownDays < 0 {
			add(p+".cooldown_days", "must not be negative")
		}
		out.rules = append(out.rules, cr)
	}
	return out, errs
}

func oneLine(s string) string {
	// expr errors span lines (the source and a caret); keep the first line
	// plus the position, which is enough next to the YAML position.
	lines := strings.Split(s, "\n")
	return strings.TrimSpace(lines[0])
}

func parseTemplate(name, text string, sample map[string]any, fail func(string)) *template.Template {
	if text == "" {
		return nil
	}
	t, err := template.New(name).Funcs(templateFuncs).Option("missingkey=error").Parse(text)
	if err != nil {
		fail(strings.TrimPrefix(err.Error(), "template: "))
		return nil
	}
	var sb strings.Builder
	if err := t.Execute(&sb, sample); err != nil {
		fail(strings.TrimPrefix(err.Error(), "template: "))
		return nil
	}
	return t
}

func sampleEnv() *RuleEnv {
	return &RuleEnv{
		Account:  AccountEnv{ID: "001", Name: "Example", Fields: map[string]any{}},
		Reasons:  []string{"few logins"},
		Measures: map[string]float64{},
	}
}

// TaskIntent is a task healthsync wants to exist on an account.
type TaskIntent struct {
	Rule string `json:"rule"`
	// DedupeKey is rule/account key/period, e.g.
	// "at_risk_follow_up/salesforce/001xx/2026-11".
	DedupeKey        string    `json:"dedupe_key"`
	AccountID        string    `json:"account_id"`
	Subject          string    `json:"subject"`
	Body             string    `json:"body,omitempty"`
	OwnerID          string    `json:"owner_id,omitempty"`
	Due              time.Time `json:"due"` // UTC midnight
	Priority         string    `json:"priority"`
	CloseWhenCleared bool      `json:"close_when_cleared,omitempty"`
}

// Evaluate runs every rule on env as of asOf and returns the intents of the
// rules whose condition holds, except those still in cooldown
// (lastCreated[rule] within CooldownDays of asOf). A rule whose condition or
// template fails at run time is skipped and reported in errs. cleared lists
// the rules whose condition is false and that close their tasks when cleared.
func (c *CompiledRules) Evaluate(env *RuleEnv, accountKey string, asOf time.Time, lastCreated map[string]time.Time) (intents []TaskIntent, cleared []string, errs []error) {
	if c == nil {
		return nil, nil, nil
	}
	var data map[string]any
	for i := range c.rules {
		r := &c.rules[i]
		if r.when == nil {
			continue
		}
		machine := vmPool.Get().(*vm.VM)
		v, err := machine.Run(r.when, env)
		vmPool.Put(machine)
		if err != nil {
			errs = append(errs, fmt.Errorf("rule %s: %w", r.Name, err))
			continue
		}
		if ok, _ := v.(bool); !ok {
			if r.CloseWhenCleared {
				cleared = append(cleared, r.Name)
			}
			continue
		}
		if last, ok := lastCreated[r.Name]; ok && r.CooldownDays > 0 && asOf.Sub(last) < time.Duration(r.CooldownDays)*24*time.Hour {
			continue
		}
		if data == nil {
			data = env.templateData()
		}
		subject, err := execTemplate(r.subject, data)
		if err != nil {
			errs = append(errs, fmt.Errorf("rule %s: subject: %w", r.Name, err))
			continue
		}
		body, err := execTemplate(r.body, data)
		if err != nil {
			errs = append(errs, fmt.Errorf("rule %s: body: %w", r.Name, err))
			continue
		}
		owner := r.Owner
		if owner == OwnerAccountOwner {
			owner = env.Account.OwnerID
		}
		intents = append(intents, TaskIntent{
			Rule:             r.Name,
			DedupeKey:        r.Name + "/" + accountKey + "/" + PeriodKey(r.Period, asOf),
			AccountID:        env.Account.ID,
			Subject:          subject,
			Body:             body,
			OwnerID:          owner,
			Due:              dayStart(asOf).AddDate(0, 0, r.DueInDays),
			Priority:         r.Priority,
			CloseWhenCleared: r.CloseWhenCleared,
		})
	}
	return intents, cleared, errs
}

// names lists every rule's name, in order (nil for nil rules).
func (c *CompiledRules) names() []string {
	if c == nil {
		return nil
	}
	out := make([]string, len(c.rules))
	for i := range c.rules {
		out[i] = c.rules[i].Name
	}
	return out
}

func execTemplate(t *template.Template, data map[string]any) (string, error) {
	if t == nil {
		return "", nil
	}
	var sb strings.Builder
	if err := t.Execute(&sb, data); err != nil {
		return "", err
	}
	return sb.String(), nil
}

// PeriodKey names the dedupe period containing t in t's location (scoring
// passes the as-of time in Settings.Location): "2026-11-23" (day),
// "2026-W48" (ISO week), "2026-11" (month), "2026-Q4" (quarter), "2026"
// (year) or "once".
func PeriodKey(period string, t time.Time) string {
	switch period {
	case PeriodDay:
		return t.Format("2006-01-02")
	case PeriodWeek:
		y, w := t.ISOWeek()
		return fmt.Sprintf("%d-W%02d", y, w)
	case PeriodQuarter:
		return fmt.Sprintf("%d-Q%d", t.Year(), (int(t.Month())-1)/3+1)
	case PeriodYear:
		return fmt.Sprintf("%d", t.Year())
	case PeriodOnce:
		return PeriodOnce
	default:
		return t.Format("2006-01")
	}
}

// dayStart is t's calendar day in t's location (scoring passes the as-of
// time in Settings.Location, so due dates follow the business's day) as
// midnight UTC, the form CRM date fields take: 2026-12-01 00:30 in Tokyo
// gives 2026-12-01T00:00Z.
func dayStart(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}
