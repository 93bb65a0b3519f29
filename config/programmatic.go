package config

import (
	"reflect"
	"strconv"
	"strings"
)

// ApplyDefaults fills the defaults into a Config built in code (tests, the
// demo). Parse already applies them. A setting counts as given when it is
// not its zero value (a nil list is not given, an empty one is).
func (c *Config) ApplyDefaults() {
	c.applyDefaults(func(path string) bool { return c.hasValue(path) })
}

// Validate checks a Config built in code (after ApplyDefaults), reporting
// every problem as *Errors; problems carry key paths but no positions.
func (c *Config) Validate() error {
	fes := c.validate()
	if len(fes) == 0 {
		return nil
	}
	errs := &Errors{}
	for _, fe := range fes {
		errs.Problems = append(errs.Problems, Problem{File: c.File, Path: fe.Path, Message: fe.Message})
	}
	errs.sort()
	return errs
}

// hasValue reports whether the key path (e.g. "notify.subscribers[0].events")
// holds a non-zero value; a non-nil empty list counts as a value.
func (c *Config) hasValue(path string) bool {
	v := reflect.ValueOf(c).Elem()
	for _, part := range strings.Split(path, ".") {
		name, rest, _ := strings.Cut(part, "[")
		if v.Kind() != reflect.Struct {
			return false
		}
		idx, ok := structFields(v.Type()).byName[name]
		if !ok {
			return false
		}
		v = v.FieldByIndex(idx)
		for rest != "" {
			n, after, _ := strings.Cut(rest, "]")
			i, err := strconv.Atoi(n)
			if err != nil || v.Kind() != reflect.Slice || i >= v.Len() {
				return false
			}
			v = v.Index(i)
			rest = strings.TrimPrefix(after, "[")
		}
	}
	if v.Kind() == reflect.Slice || v.Kind() == reflect.Map {
		return !v.IsNil()
	}
	return !v.IsZero()
}
