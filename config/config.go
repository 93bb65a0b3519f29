package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/healthsync/healthsync/scoring"
)

// Config is the whole configuration file. Parse and Load return it with
// defaults filled in and every value validated.
type Config struct {
	Store      Store       `yaml:"store" json:"store"`
	Server     Server      `yaml:"server" json:"server"`
	Log        Log         `yaml:"log" json:"log"`
	Reporting  Reporting   `yaml:"reporting" json:"reporting"`
	Connectors []Connector `yaml:"connectors" json:"connectors"`
	Matching   Matching    `yaml:"matching" json:"matching"`
	// Scoring is the metric settings, health model, touch model, lifecycle
	// and KPI targets (see package scoring).
	Scoring   scoring.Settings `yaml:"scoring" json:"scoring"`
	WriteBack WriteBack        `yaml:"write_back" json:"write_back"`
	// Tasks are the task rules (default scoring.DefaultTaskRules(); an
	// explicit empty list disables tasks).
	Tasks    []scoring.TaskRule `yaml:"tasks" json:"tasks"`
	Engine   Engine             `yaml:"engine" json:"engine"`
	Webhooks Webhooks           `yaml:"webhooks" json:"webhooks"`
	Notify   Notify             `yaml:"notify" json:"notify"`
	// Signals is how long usage signals are kept (signals.go).
	Signals Signals `yaml:"signals" json:"signals"`

	// File is the path the configuration was read from.
	File string `yaml:"-" json:"-"`
	// Warnings are what `config validate` reports without failing: secrets
	// written in the file instead of referenced from the environment.
	Warnings []Problem `yaml:"-" json:"-"`
}

// Connector returns the connector called name.
func (c *Config) Connector(name string) (Connector, bool) {
	for _, cn := range c.Connectors {
		if cn.Name == name {
			return cn, true
		}
	}
	return Connector{}, false
}

// Load reads and parses the file at path, expanding references from the
// process environment. A file that is not valid gives an *Errors listing
// every problem.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return Parse(path, data, os.LookupEnv)
}

// Parse parses a configuration file's contents: filename is used in problem
// positions; env looks up ${VAR} references (nil: the process environment).
// The steps are: mask references, parse to an AST, decode strictly while
// expanding references in values, fill defaults, validate. Problems of all
// steps are returned together as *Errors, sorted by position.
func Parse(filename string, data []byte, env func(string) (string, bool)) (*Config, error) {
	if env == nil {
		env = os.LookupEnv
	}
	masked, refs, problems := mask(data)
	errs := &Errors{}
	add := func(ps []Problem) {
		for _, p := range ps {
			p.File = filename
			errs.Problems = append(errs.Problems, p)
		}
	}
	add(problems)

	body, err := parseYAML(masked)
	if err != nil {
		add([]Problem{syntaxProblem(err)})
		errs.sort()
		return nil, errs
	}

	cfg := &Config{File: filename, Scoring: scoring.DefaultSettings()}
	d := newDecoder(&expander{refs: refs, env: env})
	d.where[""] = located{value: pos{1, 1}}
	if body != nil {
		d.collectAnchors(body)
		d.decode(body, reflect.ValueOf(cfg).Elem(), "")
	}
	add(d.problems)

	// Validate even when decoding failed, so that every problem is reported
	// at once, but drop what a value that did not decode would cause.
	var bad []string
	for _, p := range d.problems {
		bad = append(bad, p.Path)
	}
	cfg.applyDefaults(func(path string) bool { _, ok := d.where[path]; return ok })
	for _, fe := range cfg.validate() {
		if related(fe.Path, bad) {
			continue
		}
		p := locate(d.where, fe.Path)
		add([]Problem{{Line: p.line, Col: p.col, Path: fe.Path, Message: fe.Message}})
	}
	if len(errs.Problems) > 0 {
		errs.sort()
		return nil, errs
	}
	cfg.Warnings = literalSecretWarnings(filename, d.literalSecrets)
	return cfg, nil
}

// related reports whether path is, contains or is inside one of paths (""
// is the whole file).
func related(path string, paths []string) bool {
	for _, b := range paths {
		if b == "" || b == path || within(path, b) || within(b, path) {
			return true
		}
	}
	return false
}

func within(path, parent string) bool {
	return parent != "" && strings.HasPrefix(path, parent) &&
		(path[len(parent)] == '.' || path[len(parent)] == '[')
}

// errMultipleDocuments is returned for a file with more than one document.
type errMultipleDocuments struct{ at *token.Token }

func (e errMultipleDocuments) Error() string          { return "only one YAML document is allowed" }
func (e errMultipleDocuments) GetMessage() string     { return e.Error() }
func (e errMultipleDocuments) GetToken() *token.Token { return e.at }

// parseYAML parses one document; nil means an empty file. Duplicate keys
// are left for the decoder to report with everything else.
func parseYAML(src []byte) (ast.Node, error) {
	file, err := parser.ParseBytes(src, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		return nil, err
	}
	switch len(file.Docs) {
	case 0:
		return nil, nil
	case 1:
		return file.Docs[0].Body, nil
	}
	return nil, errMultipleDocuments{at: file.Docs[1].GetToken()}
}

// locate finds the position for a key path: a scalar's value, otherwise its
// key; for a path missing from the file, the key of the nearest ancestor
// that is there.
func locate(where map[string]located, path string) pos {
	for p := path; ; p = parentPath(p) {
		if l, ok := where[p]; ok {
			if (p == path && l.scalar) || l.key == (pos{}) {
				return l.value
			}
			return l.key
		}
		if p == "" {
			return pos{1, 1}
		}
	}
}

// syntaxProblem locates a parser error.
func syntaxProblem(err error) Problem {
	var ye interface {
		GetMessage() string
		GetToken() *token.Token
	}
	if errors.As(err, &ye) {
		tk := ye.GetToken()
		p := tokenPos(tk)
		msg := ye.GetMessage()
		switch {
		case strings.Contains(msg, "character '\t'"):
			msg += " (YAML indents with spaces, not tabs)"
		case msg == "mapping value is not allowed in this context" && tk != nil && tk.Next != nil && tk.Next.Position != nil &&
			tk.Next.Value == ":" && tk.Position != nil && tk.Next.Position.Line > tk.Position.Line:
			// A key indented deeper than its siblings continues the plain
			// scalar above it; the parser blames that scalar, but the
			// mistake is the key's line.
			last := tk.Origin[strings.LastIndexByte(tk.Origin, '\n')+1:]
			p = pos{tk.Next.Position.Line, len(last) - len(strings.TrimLeft(last, " ")) + 1}
			msg += " (is this key indented more than the keys above it?)"
		}
		return Problem{Line: p.line, Col: p.col, Message: "invalid YAML: " + msg}
	}
	return Problem{Line: 1, Col: 1, Message: "invalid YAML: " + err.Error()}
}
