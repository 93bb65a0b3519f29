package segment

import (
	"cmp"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/healthsync/healthsync/connectors/record"
)

// Mapper turns verified calls into links and signals through the event
// table. It holds no mutable state of its own (the State does), so one
// Mapper serves concurrent requests.
type Mapper struct {
	rule    AccountRule
	byEvent map[string][]EventMetric // event name -> its mappings
	every   []EventMetric            // Event "*"
	state   State
}

// Result is what one request's calls became.
type Result struct {
	// Signals to store: one per mapped value call, in call order, then one
	// per distinct set touched (its size now), by account key, metric and
	// window.
	Signals []record.Signal
	// Links is the number of links stored (group -> account, user -> group).
	Links int
	// Unmapped counts track calls by event name that no mapping names
	// (a "*" mapping does not count); they are reported, not stored.
	Unmapped map[string]int
	// Unresolved counts mapped track calls whose account is unknown: no
	// context.groupId and no group linked to the userId, or a group not
	// linked to an account.
	Unresolved int
	// Unlinked counts group calls whose traits lack the account trait.
	Unlinked int
	// BadValues counts mapped calls whose value or distinct property is
	// missing or not usable (a value that is not a number).
	BadValues int
	// Ignored counts page, screen and alias calls.
	Ignored int
}

// NewMapper validates c and builds a Mapper over st.
func NewMapper(c Config, st State) (*Mapper, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	m := &Mapper{rule: c.Account, byEvent: map[string][]EventMetric{}, state: st}
	if m.rule.By == "" {
		m.rule.By = ByTrait
	}
	if m.rule.By == ByDomain && m.rule.Trait == "" {
		m.rule.Trait = "website"
	}
	for _, e := range c.Events {
		if (e.DistinctUsers || e.DistinctProperty != "") && e.Window == 0 {
			e.Window = DefaultWindow
		}
		if e.Event == "*" {
			m.every = append(m.every, e)
		} else {
			m.byEvent[e.Event] = append(m.byEvent[e.Event], e)
		}
	}
	return m, nil
}

// Map applies the group and identify calls of calls as links first, so a
// batch that links and tracks in one request resolves its own track calls,
// then maps the track calls. Errors come from the State only.
func (m *Mapper) Map(calls []Call) (Result, error) {
	res := Result{Unmapped: map[string]int{}}
	var links []Link
	for i := range calls {
		c := &calls[i]
		switch c.Type {
		case TypeGroup:
			if c.UserID != "" {
				links = append(links, Link{GroupID: c.GroupID, UserID: c.UserID})
			}
			if acct, ok := m.accountOf(c.Traits); ok {
				links = append(links, Link{GroupID: c.GroupID, Account: acct})
			} else {
				res.Unlinked++
			}
		case TypeIdentify:
			if g := groupOfUser(c); g != "" && c.UserID != "" {
				links = append(links, Link{GroupID: g, UserID: c.UserID})
			}
		case TypePage, TypeScreen, TypeAlias:
			res.Ignored++
		}
	}
	if len(links) > 0 {
		if err := m.state.PutLinks(links); err != nil {
			return Result{}, fmt.Errorf("storing segment links: %w", err)
		}
		res.Links = len(links)
	}

	type who struct{ group, user string }
	resolved := map[who]*record.Ref{}
	var members []Member
	for i := range calls {
		c := &calls[i]
		if c.Type != TypeTrack {
			continue
		}
		named := m.byEvent[c.Event]
		if len(named) == 0 {
			res.Unmapped[c.Event]++
			if len(m.every) == 0 {
				continue
			}
		}
		k := who{c.Context.GroupID, c.UserID}
		acct, seen := resolved[k]
		if !seen {
			if k.group != "" || k.user != "" {
				a, ok, err := m.state.Resolve(k.group, k.user)
				if err != nil {
					return Result{}, fmt.Errorf("resolving segment account: %w", err)
				}
				if ok {
					acct = &a
				}
			}
			resolved[k] = acct
		}
		if acct == nil {
			res.Unresolved++
			continue
		}
		for _, e := range slices.Concat(named, m.every) {
			switch {
			case e.DistinctUsers || e.DistinctProperty != "":
				v := c.UserID
				if e.DistinctProperty != "" {
					v = stringOf(c.Properties[e.DistinctProperty])
				}
				if v == "" {
					res.BadValues++
					continue
				}
				key := DistinctKey{Account: *acct, Metric: e.Metric, Window: c.Timestamp.Truncate(e.Window)}
				members = append(members, Member{Key: key, Value: v})
			default:
				v := 1.0
				if e.Value != "" {
					f, ok := numberOf(c.Properties[e.Value])
					if !ok {
						res.BadValues++
						continue
					}
					v = f
				}
				res.Signals = append(res.Signals, record.Signal{Account: *acct, Metric: e.Metric, Time: c.Timestamp, Value: v})
			}
		}
	}
	if len(members) > 0 {
		sizes, err := m.state.AddDistinct(members)
		if err != nil {
			return Result{}, fmt.Errorf("counting segment distinct values: %w", err)
		}
		keys := make([]DistinctKey, 0, len(sizes))
		for k := range sizes {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b DistinctKey) int {
			return cmp.Or(strings.Compare(a.Account.Key(), b.Account.Key()), strings.Compare(a.Metric, b.Metric), a.Window.Compare(b.Window))
		})
		for _, k := range keys {
			res.Signals = append(res.Signals, record.Signal{Account: k.Account, Metric: k.Metric, Time: k.Window, Value: float64(sizes[k])})
		}
	}
	return res, nil
}

// accountOf reads the account a group's traits name under the rule.
func (m *Mapper) accountOf(traits map[string]any) (record.Ref, bool) {
	v := stringOf(traits[m.rule.Trait])
	if v == "" {
		return record.Ref{}, false
	}
	if m.rule.By == ByDomain {
		d := domainOf(v)
		return record.Ref{System: SystemDomain, ID: d}, d != ""
	}
	return record.Ref{System: m.rule.System, ID: v}, true
}

// groupOfUser is the group an identify call puts its user in:
// context.groupId ("Spec: Common Fields" > Context), else the reserved
// trait company.id ("Spec: Identify" > Traits: company, "optionally
// containing: name, id, industry, employee_count or plan").
func groupOfUser(c *Call) string {
	if c.Context.GroupID != "" {
		return c.Context.GroupID
	}
	if co, ok := c.Traits["company"].(map[string]any); ok {
		return stringOf(co["id"])
	}
	return ""
}

// domainOf reduces a website or domain ("https://www.Acme.com/about") to
// its lower-case host without "www." ("acme.com").
func domainOf(s string) string {
	s = strings.TrimSpace(strings.ToLower(s))
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(u.Hostname(), "www.")
}

// stringOf is a trait or property as a string: strings as they are, numbers
// in their shortest form (a numeric CRM ID), anything else "".
func stringOf(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

// numberOf is a property as a number: JSON numbers and numeric strings
// ("39.95", as Segment's examples send revenue).
func numberOf(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
	}
	return 0, false
}
