package sqlsource

import (
	"errors"
	"strings"
)

// ErrNoSince means the query does not use the :since parameter, so every
// run would read the whole table.
var ErrNoSince = errors.New("query does not use :since")

// bind replaces each :since parameter of query with d's placeholder and
// returns the rewritten query and the number of occurrences. It skips
// string literals ('...', with ” escapes, and E'...' with backslash
// escapes), quoted identifiers ("..."), dollar-quoted strings ($tag$...$tag$),
// line and block comments, and :: casts; ":since" followed by a letter,
// digit or underscore is another name and left alone. A trailing semicolon
// is dropped so the query can be wrapped.
func bind(query string, d Dialect) (string, int, error) {
	var b strings.Builder
	n := 0
	q := strings.TrimRight(strings.TrimSpace(query), ";")
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == '\'':
			escapes := i > 0 && (q[i-1] == 'E' || q[i-1] == 'e') && (i < 2 || !isIdent(q[i-2]))
			j := i + 1
			for j < len(q) {
				if escapes && q[j] == '\\' {
					j += 2
					continue
				}
				if q[j] == '\'' {
					if j+1 < len(q) && q[j+1] == '\'' {
						j += 2
						continue
					}
					break
				}
				j++
			}
			b.WriteString(q[i:min(j+1, len(q))])
			i = j + 1
		case c == '"':
			j := strings.IndexByte(q[i+1:], '"')
			end := len(q)
			if j >= 0 {
				end = i + 1 + j + 1
			}
			b.WriteString(q[i:end])
			i = end
		case c == '-' && strings.HasPrefix(q[i:], "--"):
			j := strings.IndexByte(q[i:], '\n')
			end := len(q)
			if j >= 0 {
				end = i + j
			}
			b.WriteString(q[i:end])
			i = end
		case c == '/' && strings.HasPrefix(q[i:], "/*"):
			j := strings.Index(q[i+2:], "*/")
			end := len(q)
			if j >= 0 {
				end = i + 2 + j + 2
			}
			b.WriteString(q[i:end])
			i = end
		case c == '$' && (i == 0 || !isIdent(q[i-1])):
			end := i + 1
			if k := strings.IndexByte(q[i+1:], '$'); k >= 0 && isTag(q[i+1:i+1+k]) {
				tag := q[i : i+1+k+1]
				if m := strings.Index(q[i+len(tag):], tag); m >= 0 {
					end = i + len(tag) + m + len(tag)
				} else {
					end = len(q)
				}
			}
			b.WriteString(q[i:end])
			i = end
		case c == ':' && strings.HasPrefix(q[i:], "::"):
			b.WriteString("::")
			i += 2
		case c == ':' && strings.HasPrefix(q[i:], ":since") && (i+6 == len(q) || !isIdent(q[i+6])):
			n++
			b.WriteString(d.Placeholder(n))
			i += 6
		default:
			b.WriteByte(c)
			i++
		}
	}
	if n == 0 {
		return "", 0, ErrNoSince
	}
	return b.String(), n, nil
}

func isIdent(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// isTag reports whether s is a dollar-quote tag: empty or an identifier
// not starting with a digit (PostgreSQL docs, "Lexical Structure" >
// "Dollar-Quoted String Constants").
func isTag(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isIdent(s[i]) || (i == 0 && s[i] >= '0' && s[i] <= '9') {
			return false
		}
	}
	return true
}
