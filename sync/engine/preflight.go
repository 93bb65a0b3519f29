package engine

import (
	"context"
	"fmt"

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
		m := e.cfg.WriteBack.Mapping(c.Config.Kind)
		var fields []string
		for _, k := range config.WriteBackKeys {
			if f := m.Fields[k]; f != "" {
				fields = append(fields, f)
			}
		}
		problems, err := c.Preflight.Preflight(ctx, map[string][]string{m.Object: fields})
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("preflight of %s: %w", c.Name(), err)
			}
			continue
		}
		if len(problems) > 0 {
			out[c.Name()] = problems
		}
	}
	return out, firstErr
}
