package engine

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

// Own writes are not changes. A pull that reads back the accounts a
// write-back just wrote (their SystemModstamp moved) tells healthsync's
// own values from a person's edit by the write ledger (accountPrint). The
// engine keeps a mirror of the ledger entries it read or wrote, so that
// reading 10,000 just-written accounts back does not read and decode
// 10,000 ledger entries again: an entry is read from the store once per
// process and updated by every write this process records.
//
// The mirror is true only while this process is the ledger's one writer:
// a bbolt store is (the file is locked). With PostgreSQL several replicas
// write it, and every read goes to the store.

// ledgerMirrorMax bounds the records the mirror holds per connector: a
// pull reading back up to this many just-written accounts reads no ledger
// entry, a larger one reads the rest from the store. Unbounded, the mirror
// of a 100,000-account write-back held about 115 MB for the life of the
// process. A var for tests.
var ledgerMirrorMax = 20_000

// ledgerKey names one CRM record in the mirror.
func ledgerKey(object, id string) string { return object + "\x00" + id }

// mirrorsLedger reports whether the engine may keep a mirror of the write
// ledger: it is the store's only writer.
func (e *Engine) mirrorsLedger() bool { return e.cfg.Store.Driver != config.DriverPostgres }

// writtenOf returns the written values of the records ids of object of
// connector, keyed by ID (a record never written has none): from the
// mirror where it holds them, else from the store in one read, which then
// fills the mirror. The maps returned are shared: callers do not modify
// them. It takes dmu (not across the store read).
func (e *Engine) writtenOf(connector, object string, ids []string) (map[string]map[string]store.WrittenValue, error) {
	out := make(map[string]map[string]store.WrittenValue, len(ids))
	mirror := e.mirrorsLedger()
	var missing []string
	var gen int64
	if mirror {
		e.dmu.Lock()
		d, err := e.dirtyLocked()
		if err != nil {
			e.dmu.Unlock()
			return nil, err
		}
		gen = d.writtenGen
		m := d.written[connector]
		for _, id := range ids {
			if w, ok := m[ledgerKey(object, id)]; ok {
				out[id] = w
				continue
			}
			missing = append(missing, id)
		}
		e.dmu.Unlock()
	} else {
		missing = ids
	}
	if len(missing) == 0 {
		return out, nil
	}
	wv, err := e.st.WrittenOf(connector, object, missing)
	if err != nil {
		return nil, fmt.Errorf("reading written values: %w", err)
	}
	for _, id := range missing {
		out[id] = wv[store.WriteKey{Object: object, ID: id}]
	}
	if !mirror {
		return out, nil
	}
	e.dmu.Lock()
	defer e.dmu.Unlock()
	d := e.dirty
	if d.writtenGen != gen {
		// A write was recorded while the store was read: what was read
		// may be older than the mirror. The next pull reads it again.
		return out, nil
	}
	m := d.written[connector]
	if m == nil {
		m = make(map[string]map[string]store.WrittenValue, len(missing))
		d.written[connector] = m
	}
	for _, id := range missing {
		if len(m) >= ledgerMirrorMax {
			break // the rest is read from the store each time
		}
		w := out[id]
		if w == nil {
			w = map[string]store.WrittenValue{}
		}
		m[ledgerKey(object, id)] = w
	}
	return out, nil
}

// noteWritten brings the mirror up to date with a write of updates to
// connector at at: recorded reports whether the store recorded it
// (MarkWritten succeeded). An entry the mirror does not hold stays out
// (the store has the fields this write did not name); an unrecorded
// write's entries are dropped, to be read again. It takes dmu.
func (e *Engine) noteWritten(connector string, updates []record.FieldUpdate, at time.Time, recorded bool) {
	if !e.mirrorsLedger() {
		return
	}
	e.dmu.Lock()
	defer e.dmu.Unlock()
	d, err := e.dirtyLocked()
	if err != nil {
		return
	}
	d.writtenGen++
	m := d.written[connector]
	for _, u := range updates {
		k := ledgerKey(u.Object, u.ID)
		old, ok := m[k]
		if !ok {
			continue
		}
		if !recorded {
			delete(m, k)
			continue
		}
		// A new map: readers hold the old one.
		nw := maps.Clone(old)
		if nw == nil {
			nw = make(map[string]store.WrittenValue, len(u.Fields))
		}
		ok = true
		for f, v := range u.Fields {
			wv, valid := asStored(v, at)
			if !valid {
				ok = false
				break
			}
			nw[f] = wv
		}
		if !ok {
			delete(m, k)
			continue
		}
		m[k] = nw
	}
}

// asStored is v written at at as the store returns it (its JSON decoded:
// a time is a string, an integer a float64).
func asStored(v any, at time.Time) (store.WrittenValue, bool) {
	switch f := v.(type) {
	case nil, string, bool:
		return store.WrittenValue{Value: v, At: at.UTC()}, true
	case float64:
		if !math.IsNaN(f) && !math.IsInf(f, 0) {
			return store.WrittenValue{Value: v, At: at.UTC()}, true
		}
	}
	b, err := json.Marshal(store.WrittenValue{Value: v, At: at.UTC()})
	if err != nil {
		return store.WrittenValue{}, false
	}
	var wv store.WrittenValue
	if err := json.Unmarshal(b, &wv); err != nil {
		return store.WrittenValue{}, false
	}
	return wv, true
}

// ownEchoes reports, per event, whether it only echoes a write of
// healthsync's: a CRM property-change event about the write-back object
// whose every changed field is a write-back field holding the value
// healthsync last wrote to that record (the write ledger, through the
// mirror). Such an event is acknowledged without a fetch, a re-score or a
// write; any other field or value is a change and is processed. A HubSpot
// property change carries the property's new value (HubSpot "Webhooks
// API" guide, event payload: propertyName, propertyValue). A Salesforce
// Outbound Message carries the record's configured fields, not which of
// them changed, so it is never taken for an echo.
func (e *Engine) ownEchoes(evs []store.QueuedEvent) ([]bool, error) {
	echo := make([]bool, len(evs))
	byConn := map[string][]int{}
	for i, ev := range evs {
		c := e.byName[ev.Connector]
		if c == nil || !c.IsCRM() || !strings.HasSuffix(ev.Event.Type, ".propertyChange") || len(ev.Event.Fields) == 0 || ev.Event.ObjectID == "" {
			continue
		}
		m := e.cfg.WriteBack.Mapping(c.Config.Kind)
		if !sameObject(ev.Event.ObjectType, m.Object) {
			continue
		}
		mapped := slices.Collect(maps.Values(m.Fields))
		all := true
		for f := range ev.Event.Fields {
			if f == "" || !slices.Contains(mapped, f) {
				all = false
				break
			}
		}
		if all {
			byConn[ev.Connector] = append(byConn[ev.Connector], i)
		}
	}
	for name, idx := range byConn {
		c := e.byName[name]
		object := e.cfg.WriteBack.Mapping(c.Config.Kind).Object
		var ids []string
		seen := map[string]bool{}
		for _, i := range idx {
			if id := evs[i].Event.ObjectID; !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
		wv, err := e.writtenOf(name, object, ids)
		if err != nil {
			return nil, err
		}
		for _, i := range idx {
			last := wv[evs[i].Event.ObjectID]
			echo[i] = true
			for f, v := range evs[i].Event.Fields {
				if lw, ok := last[f]; !ok || !sameValue(lw.Value, v) {
					echo[i] = false
				}
			}
		}
	}
	return echo, nil
}

// sameObject reports whether an event's object type (Account; HubSpot's
// company) names the write-back object (Account; companies).
func sameObject(eventType, object string) bool {
	t, o := strings.ToLower(eventType), strings.ToLower(object)
	return t == o || t+"s" == o || strings.TrimSuffix(t, "y")+"ies" == o
}

// maxTasksRecorded bounds the keys noteTasksRecorded keeps (tasks deleted
// in the CRM before a pull reads them are never taken back).
const maxTasksRecorded = 200_000

// noteTasksRecorded remembers the dedupe keys of tasks this process
// created and recorded: when a pull reads them back they need no adoption
// check (the task registry holds them; nothing removes a key from it). It
// takes dmu.
func (e *Engine) noteTasksRecorded(created []store.CreatedTask) {
	e.dmu.Lock()
	defer e.dmu.Unlock()
	d, err := e.dirtyLocked()
	if err != nil {
		return
	}
	if len(d.tasksRecorded)+len(created) > maxTasksRecorded {
		clear(d.tasksRecorded)
	}
	for _, t := range created {
		d.tasksRecorded[t.DedupeKey] = true
	}
}

// takeRecordedTasks returns which of the pulled tasks' keys this process
// recorded, and forgets them. It takes dmu.
func (e *Engine) takeRecordedTasks(tasks []record.Task) map[string]bool {
	e.dmu.Lock()
	defer e.dmu.Unlock()
	out := map[string]bool{}
	if e.dirty == nil {
		return out
	}
	for _, t := range tasks {
		if e.dirty.tasksRecorded[t.DedupeKey] {
			out[t.DedupeKey] = true
			delete(e.dirty.tasksRecorded, t.DedupeKey)
		}
	}
	return out
}
