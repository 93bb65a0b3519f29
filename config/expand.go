package config

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Environment references are expanded in scalar values only, after parsing,
// so a value can never change the YAML structure and a reference in a
// comment is ignored. `${NAME}` is replaced by the variable (unset is an
// error naming it), `${NAME:-default}` by the variable or, when it is unset
// or empty, the default; `$${` is a literal `${`.
//
// The examples ops admins write put references in flow mappings
// (`auth: {api_key: ${KEY}}`), where `{` and `}` are YAML indicators. So
// before parsing, each reference is masked with a placeholder of the same
// length in characters, made of private-use characters that are valid in
// any scalar: line and column numbers stay exact. The first placeholder
// character encodes the reference's index; the rest are filler.
const (
	phFirst  = 0xE000 // first index character
	phLast   = 0xEFFF // last index character: at most 4096 references
	phFiller = 0xF8FF
)

// envRef is one masked `${...}` (or an escaped `$${`).
type envRef struct {
	line, col int
	name      string
	def       string
	hasDef    bool
	literal   string // the text to use verbatim ($${...} escapes)
	invalid   string // why the reference cannot be expanded
}

// mask replaces every reference in src with a placeholder. Problems are
// private-use characters already present in src (they would be mistaken for
// placeholders) and too many references.
func mask(src []byte) ([]byte, []envRef, []Problem) {
	var (
		out      strings.Builder
		refs     []envRef
		problems []Problem
		line     = 1
		col      = 1
	)
	s := string(src)
	out.Grow(len(s) + len(s)/8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r >= phFirst && r <= phFiller:
			problems = append(problems, Problem{Line: line, Col: col,
				Message: fmt.Sprintf("private-use character U+%04X is not allowed", r)})
		case r == '$' && strings.HasPrefix(s[i:], "${"), r == '$' && strings.HasPrefix(s[i:], "$${"):
			escaped := strings.HasPrefix(s[i:], "$${")
			start := i + 2
			if escaped {
				start++
			}
			n := refLen(s[start:])
			if n < 0 {
				break // not a reference: reported if it is in a value
			}
			text := s[i : start+n]
			var ref envRef
			if escaped {
				ref.literal = text[1:]
			} else {
				ref = parseRef(text)
			}
			ref.line, ref.col = line, col
			refs = append(refs, ref)
			col += writePlaceholder(&out, len(refs)-1, text)
			i += len(text)
			continue
		}
		out.WriteString(s[i : i+size])
		i += size
		if r == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	if len(refs) > phLast-phFirst+1 {
		return src, nil, append(problems, Problem{Line: 1, Col: 1,
			Message: fmt.Sprintf("too many ${...} references (%d, at most %d)", len(refs), phLast-phFirst+1)})
	}
	return []byte(out.String()), refs, problems
}

// refLen is the length of a reference's rest after "${" up to and
// including "}", or -1: the name stops at a quote, brace, space or newline,
// a default (after ":-") at a newline.
func refLen(s string) int {
	i := strings.IndexAny(s, "}:\n\"' {")
	if i < 0 {
		return -1
	}
	switch {
	case s[i] == '}':
		return i + 1
	case strings.HasPrefix(s[i:], ":-"):
		j := strings.IndexAny(s[i:], "}\n")
		if j < 0 || s[i+j] != '}' {
			return -1
		}
		return i + j + 1
	}
	return -1
}

// writePlaceholder writes the placeholder of reference i for text and
// returns its length in characters.
func writePlaceholder(b *strings.Builder, i int, text string) int {
	n := utf8.RuneCountInString(text)
	b.WriteRune(rune(phFirst + i))
	for range n - 1 {
		b.WriteRune(phFiller)
	}
	return n
}

// parseRef reads `${NAME}` or `${NAME:-default}`.
func parseRef(text string) envRef {
	body := text[2 : len(text)-1]
	name, def, hasDef := strings.Cut(body, ":-")
	ref := envRef{name: name, def: def, hasDef: hasDef}
	if !validEnvName(name) {
		ref.invalid = fmt.Sprintf("invalid variable reference %q (want ${NAME} or ${NAME:-default})", text)
	}
	return ref
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// expander replaces placeholders in scalar values.
type expander struct {
	refs []envRef
	env  func(string) (string, bool)
}

// hasRef reports whether s contains a placeholder.
func hasRef(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r >= phFirst && r <= phFiller })
}

// expand returns s with its references replaced, and a problem for each
// reference that cannot be expanded (the problem names the variable, never
// a value). A "${" left in s had no closing brace on its line; pos locates
// s for that problem.
func (x *expander) expand(s string, line, col int) (string, []Problem) {
	var problems []Problem
	if strings.Contains(s, "${") {
		problems = append(problems, Problem{Line: line, Col: col,
			Message: "invalid or unterminated variable reference (want ${NAME} or ${NAME:-default}; $${ for a literal ${)"})
	}
	if !hasRef(s) {
		return s, problems
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == phFiller:
			continue
		case r >= phFirst && r <= phLast:
			i := int(r - phFirst)
			if i >= len(x.refs) {
				continue
			}
			ref := x.refs[i]
			switch {
			case ref.literal != "":
				b.WriteString(ref.literal)
			case ref.invalid != "":
				problems = append(problems, Problem{Line: ref.line, Col: ref.col, Message: ref.invalid})
			default:
				v, ok := x.env(ref.name)
				switch {
				case ref.hasDef && v == "":
					b.WriteString(ref.def)
				case !ok:
					problems = append(problems, Problem{Line: ref.line, Col: ref.col,
						Message: fmt.Sprintf("environment variable %s is not set", ref.name)})
				default:
					b.WriteString(v)
				}
			}
		default:
			b.WriteRune(r)
		}
	}
	return b.String(), problems
}
