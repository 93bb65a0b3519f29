package config

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/healthsync/healthsync/scoring"
)

// A secret that is a placeholder is worse than none: the example's
// `${HEALTHSYNC_API_TOKEN:-change-me-to-a-long-random-token}` with the
// variable unset would make a published string the token that guards
// customer data. So every Secret is checked against:
//   - every default the embedded example gives a ${VAR:-default} reference
//     (they are published with the program);
//   - well-known stand-ins (exact, ignoring case);
//   - words that mark a value to be replaced (anywhere in the value).
var (
	standIns = []string{"secret", "password", "passw0rd", "token", "apikey", "api_key", "api-key", "key",
		"xxx", "xxxx", "xxxxxxxx", "todo", "tbd", "fixme", "test", "example", "dummy", "none", "null", "default",
		"123456", "12345678", "admin", "insecure"}
	replaceMarks = []string{"change-me", "change_me", "changeme", "replace-me", "replace_me", "replaceme",
		"placeholder", "your-token", "your_token", "your-api-key", "your_api_key", "your-secret", "your_secret"}
	exampleDefault = regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*:-([^}\n]+)\}`)
)

// examplePlaceholders are the non-empty defaults of the example's
// references, lower-cased.
func examplePlaceholders() []string {
	var out []string
	for _, m := range exampleDefault.FindAllSubmatch(example, -1) {
		out = append(out, strings.ToLower(string(m[1])))
	}
	return out
}

// IsPlaceholder reports whether a secret's value is a placeholder rather
// than a credential (see above). An empty value is not: it means "not set".
func IsPlaceholder(value string) bool {
	v := strings.ToLower(strings.TrimSpace(value))
	if v == "" {
		return false
	}
	if slices.Contains(standIns, v) || slices.Contains(examplePlaceholders(), v) {
		return true
	}
	for _, m := range replaceMarks {
		if strings.Contains(v, m) {
			return true
		}
	}
	return false
}

var secretType = reflect.TypeFor[Secret]()

// walkSecrets calls fn for every Secret in v with its key path
// ("connectors[0].auth.api_key").
func walkSecrets(v reflect.Value, path string, fn func(path string, s Secret)) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkSecrets(v.Elem(), path, fn)
		}
	case reflect.Struct:
		if v.Type() == secretType {
			fn(path, v.Interface().(Secret))
			return
		}
		fs := structFields(v.Type())
		for _, name := range fs.names {
			walkSecrets(v.FieldByIndex(fs.byName[name]), joinPath(path, name), fn)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			walkSecrets(v.Index(i), fmt.Sprintf("%s[%d]", path, i), fn)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			if k.Kind() == reflect.String {
				walkSecrets(v.MapIndex(k), joinPath(path, k.String()), fn)
			}
		}
	}
}

// placeholderProblems names every secret that holds a placeholder, without
// showing it.
func (c *Config) placeholderProblems() []scoring.FieldError {
	var out []scoring.FieldError
	walkSecrets(reflect.ValueOf(c).Elem(), "", func(path string, s Secret) {
		if IsPlaceholder(s.Reveal()) {
			out = append(out, scoring.FieldError{Path: path,
				Message: "is a placeholder, not a credential: set the real value (usually through the ${VAR} it references)"})
		}
	})
	return out
}

// literalSecretWarnings are the warnings for secrets written into the file
// itself rather than referenced from the environment: a file is copied,
// committed and shared more easily than an environment.
func literalSecretWarnings(filename string, literal []Problem) []Problem {
	out := make([]Problem, 0, len(literal))
	for _, p := range literal {
		p.File = filename
		p.Message = "secret written in the file; prefer a ${VAR} reference to the environment or a secret store"
		out = append(out, p)
	}
	return out
}
