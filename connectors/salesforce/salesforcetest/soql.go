package salesforcetest

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The SOQL subset the fake understands (SOQL and SOSL Reference, "SOQL
// SELECT Syntax"): SELECT field list FROM object [WHERE condition]
// [ORDER BY field [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n]. Conditions
// combine comparisons (=, !=, <>, <, <=, >, >=, LIKE, IN, NOT IN) with AND,
// OR, NOT and parentheses; literals are 'strings', numbers, true/false/null,
// dates (YYYY-MM-DD) and datetimes (YYYY-MM-DDThh:mm:ss(Z|±hh:mm)).
// The field list may name a parent's field one level up, Owner.Name
// (SOQL and SOSL Reference, "Relationship Queries": child-to-parent
// relationships use dot notation); WHERE and ORDER BY take the object's own
// fields only.

// soqlError is answered as 400 with the given errorCode.
type soqlError struct{ code, msg string }

func (e *soqlError) Error() string { return e.code + ": " + e.msg }

type query struct {
	obj    *sobject
	fields []column
	where  cond
	order  []orderKey
	limit  int
}

type orderKey struct {
	f          *Field
	desc       bool
	nullsFirst bool
}

type litKind int

const (
	litString litKind = iota
	litNumber
	litBool
	litNull
	litDate
	litDateTime
)

type literal struct {
	kind litKind
	s    string
	n    float64
	b    bool
	t    time.Time
}

type cond interface {
	eval(rec map[string]any) bool
}

type andCond []cond
type orCond []cond
type notCond struct{ c cond }
type cmpCond struct {
	f    *Field
	op   string // = != < <= > >= like in notin
	vals []literal
	re   *regexp.Regexp
}

func (c andCond) eval(r map[string]any) bool {
	for _, x := range c {
		if !x.eval(r) {
			return false
		}
	}
	return true
}

func (c orCond) eval(r map[string]any) bool {
	for _, x := range c {
		if x.eval(r) {
			return true
		}
	}
	return false
}

func (c notCond) eval(r map[string]any) bool { return !c.c.eval(r) }

func (c *cmpCond) eval(r map[string]any) bool {
	v := r[c.f.Name]
	switch c.op {
	case "in", "notin":
		in := false
		for _, l := range c.vals {
			if l.kind == litNull && v == nil || v != nil && l.kind != litNull && compare(c.f, v, l) == 0 {
				in = true
				break
			}
		}
		return in == (c.op == "in")
	case "like":
		s, ok := v.(string)
		return ok && c.re.MatchString(s)
	}
	l := c.vals[0]
	if l.kind == litNull {
		switch c.op {
		case "=":
			return v == nil
		case "!=":
			return v != nil
		}
		return false
	}
	if v == nil {
		return c.op == "!="
	}
	d := compare(c.f, v, l)
	switch c.op {
	case "=":
		return d == 0
	case "!=":
		return d != 0
	case "<":
		return d < 0
	case "<=":
		return d <= 0
	case ">":
		return d > 0
	case ">=":
		return d >= 0
	}
	return false
}

// compare orders a stored value against a literal of a matching type
// (checked at parse time).
func compare(f *Field, v any, l literal) int {
	switch f.Type {
	case TypeDateTime:
		t, _ := v.(time.Time)
		return t.Compare(l.t)
	case TypeDouble, TypeInt, TypeCurrency, TypePercent:
		n, _ := v.(float64)
		switch {
		case n < l.n:
			return -1
		case n > l.n:
			return 1
		}
		return 0
	case TypeBoolean:
		b, _ := v.(bool)
		if b == l.b {
			return 0
		}
		if !b {
			return -1
		}
		return 1
	case TypeID, TypeReference:
		// IDs compare case-sensitively on their 15-character form.
		s, _ := v.(string)
		return strings.Compare(s, To18(l.s))
	}
	s, _ := v.(string)
	return strings.Compare(strings.ToLower(s), strings.ToLower(l.s))
}

// compareValues orders two stored values of one field, nulls first.
func compareValues(f *Field, a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	var l literal
	switch x := b.(type) {
	case time.Time:
		l = literal{kind: litDateTime, t: x}
	case float64:
		l = literal{kind: litNumber, n: x}
	case bool:
		l = literal{kind: litBool, b: x}
	case string:
		l = literal{kind: litString, s: x}
	}
	return compare(f, a, l)
}

// --- lexer ---

type token struct {
	kind string // ident, string, number, op, punct, datetime
	text string
}

// datetimeRe is a dateTime literal in one of the three documented forms,
// YYYY-MM-DDThh:mm:ss+hh:mm, -hh:mm or Z, without fractional seconds (SOQL
// and SOSL Reference, "Date Formats and Date Literals in WHERE").
var datetimeRe = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$`)
var dateRe = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

func lex(q string) ([]token, error) {
	var toks []token
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '\'':
			var b strings.Builder
			j := i + 1
			for ; j < len(q) && q[j] != '\''; j++ {
				if q[j] == '\\' && j+1 < len(q) {
					j++
					switch q[j] {
					case 'n':
						b.WriteByte('\n')
					case 't':
						b.WriteByte('\t')
					default:
						b.WriteByte(q[j])
					}
					continue
				}
				b.WriteByte(q[j])
			}
			if j >= len(q) {
				return nil, &soqlError{"MALFORMED_QUERY", "unterminated string literal"}
			}
			toks = append(toks, token{"string", b.String()})
			i = j + 1
		case c == '(' || c == ')' || c == ',':
			toks = append(toks, token{"punct", string(c)})
			i++
		case c == '=' || c == '<' || c == '>' || c == '!':
			j := i + 1
			if j < len(q) && (q[j] == '=' || (c == '<' && q[j] == '>')) {
				j++
			}
			op := q[i:j]
			if op == "<>" {
				op = "!="
			}
			if op == "!" {
				return nil, &soqlError{"MALFORMED_QUERY", "unexpected token: '!'"}
			}
			toks = append(toks, token{"op", op})
			i = j
		case c >= '0' && c <= '9' || c == '-' || c == '+':
			j := i + 1
			for j < len(q) && strings.IndexByte("0123456789.-:+TZ", q[j]) >= 0 {
				j++
			}
			t := q[i:j]
			switch {
			case datetimeRe.MatchString(t):
				toks = append(toks, token{"datetime", t})
			case dateRe.MatchString(t):
				toks = append(toks, token{"date", t})
			default:
				if _, err := strconv.ParseFloat(t, 64); err != nil {
					return nil, &soqlError{"MALFORMED_QUERY", fmt.Sprintf("unexpected token: '%s'", t)}
				}
				toks = append(toks, token{"number", t})
			}
			i = j
		case isIdent(c):
			j := i
			for j < len(q) && (isIdent(q[j]) || q[j] >= '0' && q[j] <= '9' || q[j] == '.') {
				j++
			}
			toks = append(toks, token{"ident", q[i:j]})
			i = j
		default:
			return nil, &soqlError{"MALFORMED_QUERY", fmt.Sprintf("unexpected character: '%c'", c)}
		}
	}
	return toks, nil
}

func isIdent(c byte) bool { return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// --- parser ---

type parser struct {
	toks []token
	pos  int
	s    *Server
	obj  *sobject
}

func (p *parser) peek() token {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return token{}
}

func (p *parser) next() token { t := p.peek(); p.pos++; return t }

func (p *parser) keyword(kw string) bool {
	if t := p.peek(); t.kind == "ident" && strings.EqualFold(t.text, kw) {
		p.pos++
		return true
	}
	return false
}

func malformed(format string, a ...any) error {
	return &soqlError{"MALFORMED_QUERY", fmt.Sprintf(format, a...)}
}

// parseSOQL parses q against the server's schema; the caller holds s.mu.
func (s *Server) parseSOQL(q string) (*query, error) {
	toks, err := lex(q)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks, s: s}
	if !p.keyword("SELECT") {
		return nil, malformed("unexpected token: '%s'", p.peek().text)
	}
	var names []string
	for {
		t := p.next()
		if t.kind != "ident" {
			return nil, malformed("unexpected token: '%s'", t.text)
		}
		names = append(names, t.text)
		if p.peek().text != "," {
			break
		}
		p.pos++
	}
	if !p.keyword("FROM") {
		return nil, malformed("unexpected token: '%s'", p.peek().text)
	}
	ot := p.next()
	o := s.objects[lower(ot.text)]
	if o == nil {
		return nil, &soqlError{"INVALID_TYPE", fmt.Sprintf("sObject type '%s' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.", ot.text)}
	}
	p.obj = o
	qq := &query{obj: o}
	for _, n := range names {
		c, err := p.column(n)
		if err != nil {
			return nil, err
		}
		qq.fields = append(qq.fields, c)
	}
	if p.keyword("WHERE") {
		if qq.where, err = p.or(); err != nil {
			return nil, err
		}
	}
	if p.keyword("ORDER") {
		if !p.keyword("BY") {
			return nil, malformed("expecting 'BY'")
		}
		for {
			t := p.next()
			f, err := p.field(t.text)
			if err != nil {
				return nil, err
			}
			// SOQL and SOSL Reference, "ORDER BY": long text area fields
			// cannot be sorted.
			if f.longText() {
				return nil, &soqlError{"INVALID_FIELD", fmt.Sprintf("field '%s' can not be sorted in a query call", f.Name)}
			}
			k := orderKey{f: f}
			if p.keyword("DESC") {
				k.desc = true
			} else {
				p.keyword("ASC")
			}
			k.nullsFirst = !k.desc
			if p.keyword("NULLS") {
				switch {
				case p.keyword("FIRST"):
					k.nullsFirst = true
				case p.keyword("LAST"):
					k.nullsFirst = false
				default:
					return nil, malformed("expecting FIRST or LAST")
				}
			}
			qq.order = append(qq.order, k)
			if p.peek().text != "," {
				break
			}
			p.pos++
		}
	}
	if p.keyword("LIMIT") {
		t := p.next()
		n, err := strconv.Atoi(t.text)
		if err != nil || n < 0 {
			return nil, malformed("unexpected token: '%s'", t.text)
		}
		qq.limit = n
	}
	if p.pos < len(p.toks) {
		return nil, malformed("unexpected token: '%s'", p.peek().text)
	}
	return qq, nil
}

func (p *parser) field(name string) (*Field, error) {
	f := p.obj.field(name)
	if f == nil {
		return nil, &soqlError{"INVALID_FIELD", fmt.Sprintf("No such column '%s' on entity '%s'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.", name, p.obj.name)}
	}
	return f, nil
}

// column is one item of a SELECT list: a field of the object, or with ref
// set, field f of the parent that the reference field ref points to.
type column struct {
	f   *Field
	ref *Field
}

// column resolves a SELECT item: a field, or relationship.field where
// relationship is a reference field's RelationshipName and field exists on
// one of the objects it refers to (for a polymorphic one, Task.Owner, any
// of them). An unknown relationship fails as Salesforce answers it.
func (p *parser) column(name string) (column, error) {
	rel, fname, dotted := strings.Cut(name, ".")
	if !dotted {
		f, err := p.field(name)
		return column{f: f}, err
	}
	var ref *Field
	for _, f := range p.obj.fields {
		if f.RelationshipName != "" && lower(f.RelationshipName) == lower(rel) {
			ref = f
		}
	}
	if ref == nil || strings.Contains(fname, ".") {
		return column{}, &soqlError{"INVALID_FIELD", fmt.Sprintf("Didn't understand relationship '%s' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.", rel)}
	}
	for _, to := range ref.ReferenceTo {
		if o := p.s.objects[lower(to)]; o != nil {
			if f := o.field(fname); f != nil {
				return column{f: f, ref: ref}, nil
			}
		}
	}
	return column{}, &soqlError{"INVALID_FIELD", fmt.Sprintf("No such column '%s' on entity '%s'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.", fname, ref.ReferenceTo[0])}
}

func (p *parser) or() (cond, error) {
	var out orCond
	for {
		c, err := p.and()
		if err != nil {
			return nil, err
		}
		out = append(out, c)
		if !p.keyword("OR") {
			break
		}
	}
	if len(out) == 1 {
		return out[0], nil
	}
	return out, nil
}

func (p *parser) and() (cond, error) {
	var out andCond
	for {
		c, err := p.unary()
		if err != nil {
			return nil, err
		}
		out = append(out, c)
		if !p.keyword("AND") {
			break
		}
	}
	if len(out) == 1 {
		return out[0], nil
	}
	return out, nil
}

func (p *parser) unary() (cond, error) {
	if p.keyword("NOT") {
		c, err := p.unary()
		return notCond{c}, err
	}
	if p.peek().text == "(" {
		p.pos++
		c, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.next().text != ")" {
			return nil, malformed("expecting ')'")
		}
		return c, nil
	}
	t := p.next()
	if t.kind != "ident" {
		return nil, malformed("unexpected token: '%s'", t.text)
	}
	f, err := p.field(t.text)
	if err != nil {
		return nil, err
	}
	// SOQL and SOSL Reference, "fieldExpression Syntax": the field can be
	// any field except a long text area (and encrypted or base64 ones).
	if f.longText() {
		return nil, &soqlError{"INVALID_FIELD", fmt.Sprintf("field '%s' can not be filtered in a query call", f.Name)}
	}
	c := &cmpCond{f: f}
	switch {
	case p.peek().kind == "op":
		c.op = p.next().text
	case p.keyword("LIKE"):
		c.op = "like"
	case p.keyword("IN"):
		c.op = "in"
	case p.keyword("NOT"):
		if !p.keyword("IN") {
			return nil, malformed("expecting IN")
		}
		c.op = "notin"
	default:
		return nil, malformed("unexpected token: '%s'", p.peek().text)
	}
	if c.op == "in" || c.op == "notin" {
		if p.next().text != "(" {
			return nil, malformed("expecting '('")
		}
		for {
			l, err := p.literal(f)
			if err != nil {
				return nil, err
			}
			c.vals = append(c.vals, l)
			t := p.next()
			if t.text == ")" {
				break
			}
			if t.text != "," {
				return nil, malformed("expecting ',' or ')'")
			}
		}
		return c, nil
	}
	l, err := p.literal(f)
	if err != nil {
		return nil, err
	}
	c.vals = []literal{l}
	if c.op == "like" {
		if l.kind != litString {
			return nil, malformed("LIKE needs a string")
		}
		pat := "(?is)^" + strings.NewReplacer("%", ".*", "_", ".").Replace(regexp.QuoteMeta(l.s)) + "$"
		c.re = regexp.MustCompile(pat)
	}
	return c, nil
}

// literal reads a literal and checks it suits the field's type, as
// Salesforce rejects a quoted datetime or an unquoted string.
func (p *parser) literal(f *Field) (literal, error) {
	t := p.next()
	bad := func(want string) (literal, error) {
		return literal{}, &soqlError{"INVALID_FIELD", fmt.Sprintf("value of filter criterion for field '%s' must be of type %s and should not be enclosed in quotes", f.Name, want)}
	}
	if t.kind == "ident" && strings.EqualFold(t.text, "null") {
		return literal{kind: litNull}, nil
	}
	switch f.Type {
	case TypeDateTime:
		if t.kind != "datetime" {
			return bad("dateTime")
		}
		v, err := time.Parse(time.RFC3339Nano, t.text)
		if err != nil {
			return bad("dateTime")
		}
		return literal{kind: litDateTime, t: v}, nil
	case TypeDate:
		if t.kind != "date" {
			return bad("date")
		}
		return literal{kind: litDate, s: t.text}, nil
	case TypeDouble, TypeInt, TypeCurrency, TypePercent:
		if t.kind != "number" {
			return bad("double")
		}
		n, _ := strconv.ParseFloat(t.text, 64)
		return literal{kind: litNumber, n: n}, nil
	case TypeBoolean:
		if t.kind == "ident" && (strings.EqualFold(t.text, "true") || strings.EqualFold(t.text, "false")) {
			return literal{kind: litBool, b: strings.EqualFold(t.text, "true")}, nil
		}
		return bad("boolean")
	}
	if t.kind != "string" {
		return literal{}, malformed("unexpected token: '%s'", t.text)
	}
	return literal{kind: litString, s: t.text}, nil
}
