package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/healthsync/healthsync/connectors/httpclient"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

// PullReport is the outcome of one connector's pull.
type PullReport struct {
	RunID     string            `json:"run_id"`
	Connector string            `json:"connector"`
	Full      bool              `json:"full"`
	Start     time.Time         `json:"start"`
	Duration  time.Duration     `json:"duration"`
	Complete  bool              `json:"complete"` // every stream reached its end
	Batches   int               `json:"batches"`
	Stats     store.CommitStats `json:"stats"`
	Deleted   int               `json:"deleted"`
	// Adopted counts healthsync's tasks found in the CRM and not in the
	// store, now recorded.
	Adopted int                   `json:"tasks_adopted,omitempty"`
	API     httpclient.Stats      `json:"api"`
	Usage   *record.APIUsage      `json:"usage,omitempty"`
	Gate    string                `json:"gate,omitempty"` // why write-back is blocked for this source
	Err     string                `json:"error,omitempty"`
	Streams map[string]StreamInfo `json:"streams"`
	// Signals counts the usage signals a signals source's pull stored.
	Signals *SignalCounts `json:"signals,omitempty"`
}

// StreamInfo is per-stream progress.
type StreamInfo struct {
	Records int  `json:"records"`
	Done    bool `json:"done"`
	Full    bool `json:"full"`
}

// sourceState is what the engine remembers about a source between runs,
// kept in the store's meta bucket.
type sourceState struct {
	LastFull     time.Time                `json:"last_full"`
	LastComplete time.Time                `json:"last_complete"`
	Complete     bool                     `json:"complete"` // the last pull finished
	Counts       map[store.RecordType]int `json:"counts"`   // live records after the last complete pull
	Gate         string                   `json:"gate,omitempty"`
	Usage        *record.APIUsage         `json:"usage,omitempty"`
}

func stateKey(connector string) string { return "engine/source/" + connector }

func (e *Engine) sourceState(connector string) sourceState {
	var s sourceState
	if b, err := e.st.Meta(stateKey(connector)); err == nil && b != nil {
		json.Unmarshal(b, &s)
	}
	return s
}

func (e *Engine) setSourceState(connector string, s sourceState) error {
	b, _ := json.Marshal(s)
	return e.st.SetMeta(stateKey(connector), b)
}

// Pull runs one connector's pull: each batch is committed (records and
// cursor in one transaction) before the next is taken from the source (a
// source may read the next page meanwhile: Salesforce does). A full
// enumeration runs when forced, when no cursor exists, or when the
// connector's full_resync interval has passed. Records a complete full
// enumeration did not see are deleted only when the source passed its
// gates.
func (e *Engine) Pull(ctx context.Context, name string, forceFull bool) (*PullReport, error) {
	c, ok := e.byName[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownConnector, name)
	}
	unlock := e.lockPull(name)
	defer unlock()

	start := e.now()
	rep := &PullReport{RunID: newRunID(start, "pull", name), Connector: name, Start: start, Streams: map[string]StreamInfo{}}
	log := e.log.With().Str("run", rep.RunID).Str("connector", name).Logger()
	before := c.stats()
	state := e.sourceState(name)

	cursors, err := e.st.Cursors(name)
	if err != nil {
		return nil, fmt.Errorf("reading cursors: %w", err)
	}
	full := forceFull || len(cursors) == 0
	if fr := c.Config.FullResync.D(); fr > 0 && !state.LastFull.IsZero() && start.Sub(state.LastFull) >= fr {
		full = true
	}
	if state.LastFull.IsZero() {
		full = true
	}
	rep.Full = full
	log.Info().Bool("full", full).Msg("pull started")
	e.putRun(store.Run{ID: rep.RunID, Connector: name, Kind: kindOf(full), Start: start, Status: "running"})

	var errs firstErrors
	var unseen []store.Gone
	allDone := true
	var pullErr error
	lastProgress, pulled := start, 0
	var resolver *accountResolver
	// newTasks are the CRM tasks new or changed since the last pull.
	var newTasks []record.Task
	for b, err := range c.Source.Pull(ctx, record.PullRequest{Cursors: cursors, Full: full, Now: start}) {
		if err != nil {
			pullErr = err
			break
		}
		if len(b.Signals) > 0 {
			if rep.Signals == nil {
				rep.Signals, resolver = &SignalCounts{}, e.newResolver()
			}
			if _, err := e.storeSignals(c, resolver, b.Signals, rep.Signals); err != nil {
				pullErr = err
				break
			}
		}
		st, err := e.st.CommitBatch(name, b)
		if err != nil {
			pullErr = fmt.Errorf("committing batch: %w", err)
			break
		}
		if st.Inserted+st.Updated+st.Deleted > 0 || len(b.Signals) > 0 {
			changedTasks, err := e.markBatch(c, b)
			if err != nil {
				pullErr = fmt.Errorf("marking changed accounts: %w", err)
				break
			}
			newTasks = append(newTasks, changedTasks...)
			var gone []record.Ref
			if strings.HasPrefix(strings.ToLower(b.Stream), "task") {
				gone = b.Deleted // task IDs: other streams' may collide
			}
			e.index().setCRMTasks(changedTasks, gone)
		}
		rep.Batches++
		rep.Stats.Inserted += st.Inserted
		rep.Stats.Updated += st.Updated
		rep.Stats.Unchanged += st.Unchanged
		rep.Stats.Stale += st.Stale
		rep.Stats.Deleted += st.Deleted
		// Records changed after the enumeration began (a webhook fetch
		// committed them meanwhile) are not evidence of a deletion.
		for _, g := range st.Unseen {
			if g.Modified.IsZero() || g.Modified.Before(start.Add(-deletionSkew)) {
				unseen = append(unseen, g)
			}
		}
		si := rep.Streams[b.Stream]
		si.Records += b.Len()
		si.Full = si.Full || b.Full
		si.Done = si.Done || b.Done
		rep.Streams[b.Stream] = si
		if b.Usage != nil {
			rep.Usage = b.Usage
		}
		// A long pull says how far it got at a steady interval.
		pulled += b.Len()
		if now := e.now(); now.Sub(lastProgress) >= pullProgressEvery {
			lastProgress = now
			took := now.Sub(start)
			log.Info().Int("records", pulled).Int("pages", rep.Batches).Float64("records_per_s", math.Round(float64(pulled)/took.Seconds()*10)/10).
				Int64("took_ms", took.Milliseconds()).Msg("pull progress")
		}
	}
	noteRowErrors(c, rep, &errs)
	if pullErr != nil {
		allDone = false
		errs.add(pullErr)
		rep.Err = pullErr.Error()
		if errors.Is(pullErr, httpclient.ErrQuota) {
			log.Warn().Err(pullErr).Msg("pull stopped: API quota")
		} else {
			log.Error().Err(pullErr).Msg("pull failed")
		}
	}
	rep.Complete = allDone && pullErr == nil

	// Gates: an incomplete pull, or a record count that dropped too far,
	// blocks write-back for the accounts this source feeds.
	counts, err := e.st.Counts(name)
	if err != nil {
		return nil, fmt.Errorf("counting records: %w", err)
	}
	rep.Gate = ""
	if !rep.Complete {
		rep.Gate = "pull did not finish"
	}
	if full && rep.Complete && len(unseen) > 0 {
		if drop := dropShare(state.Counts, counts, unseen); drop > e.cfg.Engine.MaxRecordDrop && e.cfg.Engine.MaxRecordDrop > 0 {
			rep.Gate = fmt.Sprintf("record count would drop by %.0f%% (limit %.0f%%): deletions not applied",
				drop*100, e.cfg.Engine.MaxRecordDrop*100)
		} else {
			n, err := e.st.ApplyDeletions(name, unseen)
			if err != nil {
				return nil, fmt.Errorf("applying deletions: %w", err)
			}
			rep.Deleted = n
			if n > 0 {
				e.dmu.Lock()
				err := e.markFullLocked(rescoreDeleted)
				e.dmu.Unlock()
				if err != nil {
					return nil, fmt.Errorf("marking deletions: %w", err)
				}
			}
			counts, _ = e.st.Counts(name)
		}
	}
	if rep.Complete && rep.Gate == "" && state.Counts != nil {
		if drop := countDrop(state.Counts, counts); drop > e.cfg.Engine.MaxRecordDrop && e.cfg.Engine.MaxRecordDrop > 0 {
			rep.Gate = fmt.Sprintf("record count dropped by %.0f%% since the last complete pull (limit %.0f%%)",
				drop*100, e.cfg.Engine.MaxRecordDrop*100)
		}
	}

	state.Complete = rep.Complete
	state.Gate = rep.Gate
	if rep.Usage != nil {
		state.Usage = rep.Usage
	}
	if rep.Complete {
		state.LastComplete = start
		if rep.Gate == "" {
			state.Counts = counts
		}
		if full {
			state.LastFull = start
		}
	}
	// Tasks healthsync created but never recorded (a killed run) are
	// adopted once a pull has read them: only the tasks new or changed
	// since the last pull need a look.
	if c.IsCRM() && rep.Complete {
		if rep.Adopted, err = e.adoptTasks(name, newTasks); err != nil {
			errs.add(err)
			log.Error().Err(err).Msg("adopting tasks failed")
			e.forgetTasks(c, newTasks)
		}
	} else {
		e.forgetTasks(c, newTasks)
	}
	if err := e.flushDirty(); err != nil {
		return nil, fmt.Errorf("recording changed accounts: %w", err)
	}
	if err := e.setSourceState(name, state); err != nil {
		return nil, fmt.Errorf("recording source state: %w", err)
	}

	rep.Duration = e.now().Sub(start)
	rep.API = c.stats().Sub(before)
	status := "ok"
	if !rep.Complete {
		status = "failed"
	} else if rep.Gate != "" {
		status = "gated"
	}
	e.putRun(store.Run{ID: rep.RunID, Connector: name, Kind: kindOf(full), Start: start, End: start.Add(rep.Duration),
		Status: status, Errors: errs, Counters: map[string]int64{
			"batches": int64(rep.Batches), "inserted": int64(rep.Stats.Inserted), "updated": int64(rep.Stats.Updated),
			"unchanged": int64(rep.Stats.Unchanged), "stale": int64(rep.Stats.Stale),
			"deleted": int64(rep.Stats.Deleted + rep.Deleted), "api_calls": rep.API.Calls, "retries": rep.API.Retries,
			"throttled": rep.API.Throttled, "api_errors": rep.API.Errors, "tasks_adopted": int64(rep.Adopted)}})
	log.Info().Int("batches", rep.Batches).Int("inserted", rep.Stats.Inserted).Int("updated", rep.Stats.Updated).
		Int("deleted", rep.Stats.Deleted+rep.Deleted).Int64("api_calls", rep.API.Calls).Str("gate", rep.Gate).
		Int64("took_ms", rep.Duration.Milliseconds()).Msg("pull finished")
	if pullErr != nil {
		return rep, fmt.Errorf("pulling %s: %w", name, pullErr)
	}
	return rep, nil
}

// deletionSkew is the margin for vendor clocks ahead of ours when deciding
// that a record unseen by a full enumeration predates it.
const deletionSkew = 5 * time.Minute

// pullProgressEvery is how often a running pull logs its progress.
const pullProgressEvery = 30 * time.Second

func kindOf(full bool) string {
	if full {
		return "pull_full"
	}
	return "pull"
}

// dropShare is the share of live records the unseen set would delete.
func dropShare(_ map[store.RecordType]int, now map[store.RecordType]int, unseen []store.Gone) float64 {
	total := 0
	for _, n := range now {
		total += n
	}
	if total == 0 {
		return 0
	}
	return float64(len(unseen)) / float64(total)
}

// countDrop is the largest relative drop of any record type.
func countDrop(before, now map[store.RecordType]int) float64 {
	worst := 0.0
	for t, b := range before {
		if b < 10 {
			continue // too few to judge
		}
		if d := float64(b-now[t]) / float64(b); d > worst {
			worst = d
		}
	}
	return worst
}
