package config

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Problem is one thing wrong with a configuration file, located at the
// line and column (1-based, in characters) of the offending key or value.
type Problem struct {
	File    string
	Line    int
	Col     int
	Path    string // key path, e.g. connectors[0].schedule; empty for the file as a whole
	Message string
}

// String formats the problem as FILE:LINE:COL: key.path: message (without
// the position when there is none).
func (p Problem) String() string {
	var b strings.Builder
	switch {
	case p.Line > 0:
		fmt.Fprintf(&b, "%s:%d:%d: ", p.File, p.Line, p.Col)
	case p.File != "":
		b.WriteString(p.File + ": ") // a Config built in code has no positions
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Errors is every problem found in a configuration file. Parse and Load
// return it (as *Errors) whenever the file is not valid.
type Errors struct {
	Problems []Problem
}

// Error prints one problem per line, ordered by position.
func (e *Errors) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

func (e *Errors) sort() {
	slices.SortStableFunc(e.Problems, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col),
			cmp.Compare(a.Path, b.Path), cmp.Compare(a.Message, b.Message))
	})
	e.Problems = slices.Compact(e.Problems)
}

// ConfigProblems returns the number of problems; the CLI recognises
// configuration errors by this method and exits with status 2.
func (e *Errors) ConfigProblems() int { return len(e.Problems) }
