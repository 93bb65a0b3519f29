package engine

import (
	"context"
	"errors"
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
				return nil, err
			} else if ok {
				key = c.Config.Kind + "/" + id
				break
			}
		}
	}
	e.mu.Lock()
	rec, err := e.Reconcile(ctx, e.now(), false, map[string]bool{key: true})
	e.mu.Unlock()
	if err != nil {
		return nil, err
	}
	s, ok := rec.Account(key)
	if !ok {
		return nil, ErrNoAccount
	}
	// Re-score with the full ledger kept for every month.
	ex := &Explanation{Account: key, Connector: s.Connector, Name: s.Account.Name, Result: s.Result,
		Links: []store.Link{}, Pending: []store.PendingWrite{}, Tasks: []store.CreatedTask{}}
	if r, err := e.explainResult(ctx, key); err == nil && r != nil {
		ex.Result = *r
	}
	links, err := e.st.Links()
	if err != nil {
		return nil, err
	}
	for _, l := range links {
		if l.AccountKey == key {
			ex.Links = append(ex.Links, l)
		}
	}
	pend, err := e.st.Pending(s.Connector)
	if err != nil {
		return nil, err
	}
	for _, p := range pend {
		if p.ID == s.Account.ID {
			ex.Pending = append(ex.Pending, p)
		}
	}
	tasks, err := e.st.OpenTasks()
	if err != nil {
		return nil, err
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

// explainResult scores one account with Explain set (ledger for every
// month).
func (e *Engine) explainResult(ctx context.Context, key string) (*scoring.AccountResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.explain = true
	defer func() { e.explain = false }()
	rec, err := e.Reconcile(ctx, e.now(), false, map[string]bool{key: true})
	if err != nil {
		return nil, err
	}
	s, ok := rec.Account(key)
	if !ok {
		return nil, ErrNoAccount
	}
	return &s.Result, nil
}
