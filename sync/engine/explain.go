package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/healthsync/healthsync/scoring"
	"github.com/healthsync/healthsync/sync/store"
)

// ErrNoAccount is returned when an account key or ID matches nothing.
var ErrNoAccount = errors.New("no such account")

// Explanation is one account's score with each measure's raw value, points
// and weight, its reasons, its MRR ledger month by month, its identity links
// and its pending writes (`healthsync explain`, GET /api/accounts/{id}).
type Explanation struct {
	Account   string                `json:"account"`
	Connector string                `json:"connector"`
	Name      string                `json:"name"`
	Result    scoring.AccountResult `json:"result"`
	Links     []store.Link          `json:"links"`
	Pending   []store.PendingWrite  `json:"pending_writes"`
	Tasks     []store.CreatedTask   `json:"tasks"`
	Gate      string                `json:"gate,omitempty"`
}

// Explain finds an account by key ("salesforce/001...") or CRM ID and
// explains its numbers, computed from the store.
func (e *Engine) Explain(ctx context.Context, id string) (*Explanation, error) {
	key := id
	if !strings.Contains(id, "/") {
		for _, c := range e.conns {
			if !c.IsCRM() {
				continue
			}
			if _, ok, err := e.st.Account(c.Name(), id); err != nil {
				return nil, fmt.Errorf("reading account: %w", err)
			} else if ok {
				key = c.Config.Kind + "/" + id
				break
			}
		}
	}
	// Scored with the full MRR ledger kept for every month.
	rec, err := e.reconcileTargeted(ctx, e.now(), map[string]bool{key: true}, true)
	if err != nil {
		return nil, fmt.Errorf("re-scoring: %w", err)
	}
	s, ok := rec.Account(key)
	if !ok {
		return nil, ErrNoAccount
	}
	ex := &Explanation{Account: key, Connector: s.Connector, Name: s.Account.Name, Result: s.Result,
		Links: []store.Link{}, Pending: []store.PendingWrite{}, Tasks: []store.CreatedTask{}}
	links, err := e.st.Links()
	if err != nil {
		return nil, fmt.Errorf("reading identity links: %w", err)
	}
	for _, l := range links {
		if l.AccountKey == key {
			ex.Links = append(ex.Links, l)
		}
	}
	pend, err := e.st.Pending(s.Connector)
	if err != nil {
		return nil, fmt.Errorf("reading pending writes: %w", err)
	}
	for _, p := range pend {
		if p.ID == s.Account.ID {
			ex.Pending = append(ex.Pending, p)
		}
	}
	tasks, err := e.st.OpenTasks()
	if err != nil {
		return nil, fmt.Errorf("reading open tasks: %w", err)
	}
	for _, t := range tasks {
		if t.AccountKey == key {
			ex.Tasks = append(ex.Tasks, t)
		}
	}
	if g, ok := rec.Gates[s.Connector]; ok {
		ex.Gate = g
	} else if g, ok := rec.AccountGates[key]; ok {
		ex.Gate = g
	}
	return ex, nil
}
