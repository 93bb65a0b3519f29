package engine

import (
	"context"
	"fmt"
	"sort"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
)

// Preflight asks each CRM connector whether the fields healthsync writes
// exist and are writable, and returns every problem at once, by connector.
// A connector whose check itself fails is reported with that error.
func (e *Engine) Preflight(ctx context.Context) (map[string][]record.FieldProblem, error) {
	out := map[string][]record.FieldProblem{}
	var firstErr error
	for _, c := range e.conns {
		if !c.IsCRM() || c.Preflight == nil {
			continue
		}
		problems, err := e.preflightOne(ctx, c)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if len(problems) > 0 {
			out[c.Name()] = problems
		}
	}
	return out, firstErr
}

func (e *Engine) preflightOne(ctx context.Context, c *Connector) ([]record.FieldProblem, error) {
	m := e.cfg.WriteBack.Mapping(c.Config.Kind)
	var fields []string
	for _, k := range config.WriteBackKeys {
		if f := m.Fields[k]; f != "" {
			fields = append(fields, f)
		}
	}
	problems, err := c.Preflight.Preflight(ctx, map[string][]string{m.Object: fields})
	if err != nil {
		return nil, fmt.Errorf("preflight of %s: %w", c.Name(), err)
	}
	return problems, nil
}

// unusableFields maps a CRM connector to the mapped fields its last
// preflight found missing or read-only, with the problem.
type unusableFields map[string]map[string]string

// checkFields runs the preflight of every CRM connector (API calls: the
// caller holds no lock) and returns what it found, for setUnusableLocked. A
// connector whose check fails keeps what its last check found (known false);
// its error is returned as a line for the run report.
func (e *Engine) checkFields(ctx context.Context) (found unusableFields, known map[string]bool, errs []error) {
	found, known = unusableFields{}, map[string]bool{}
	for _, c := range e.conns {
		if !c.IsCRM() || c.Preflight == nil || c.Writer == nil {
			continue
		}
		problems, err := e.preflightOne(ctx, c)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		known[c.Name()] = true
		for _, p := range problems {
			if found[c.Name()] == nil {
				found[c.Name()] = map[string]string{}
			}
			found[c.Name()][p.Field] = p.Problem
		}
	}
	return found, known, errs
}

// setUnusableLocked records a field check's outcome; the caller holds mu.
func (e *Engine) setUnusableLocked(found unusableFields, known map[string]bool) {
	next := unusableFields{}
	for name, fs := range e.unusable {
		if !known[name] {
			next[name] = fs
		}
	}
	for name, fs := range found {
		next[name] = fs
	}
	e.unusable = next
}

// lines describe the unusable fields, one line each, sorted.
func (u unusableFields) lines() []string {
	var out []string
	for name, fs := range u {
		for f, problem := range fs {
			out = append(out, fmt.Sprintf("write-back to %s: mapped field %s %s (preflight); the other fields are written", name, f, problem))
		}
	}
	sort.Strings(out)
	return out
}
