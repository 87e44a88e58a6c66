package reports

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"time"
)

// EventStoreSource gives reconciliation a read-only view of a platform's
// event store: its append-only, hash-chained record of every change to the
// ledger's tables (docs/event-store.md). Like LedgerSource, it reads the
// documented layout, never the platform's code.
type EventStoreSource interface {
	// ReadEventStore reads, from one consistent snapshot, the store's head,
	// then every event in position order, then every current row of the
	// tables the store tracks, handing each to v as it goes, so that a
	// store of any size is read in bounded memory. It returns
	// ErrNoEventStore when the platform keeps none.
	ReadEventStore(ctx context.Context, v EventVisitor) error
}

// ErrNoEventStore is what an EventStoreSource returns when the platform
// keeps no event store (a database from before it, a ledger export).
var ErrNoEventStore = errors.New("the platform keeps no event store")

// EventStoreOffError is what an EventStoreSource returns when the platform
// switched its store off on the record (docs/event-store.md, "Switching the
// store off"): invariants 9 and 12 are then not checked, and say why.
type EventStoreOffError struct {
	At     time.Time
	Reason string
}

func (e *EventStoreOffError) Error() string {
	return fmt.Sprintf("the platform switched its event store off at %s (%s)", e.At.UTC().Format(time.RFC3339), e.Reason)
}

// EventVisitor is handed what an EventStoreSource reads, in its order:
// Head once, Event for each event by rising position, Row for each row of
// each tracked table. An error it returns stops the read.
type EventVisitor interface {
	Head(EventHead) error
	Event(Event) error
	// Row is one current row of a tracked table as a JSON object, with
	// every column, derived ones (accounts.balance) included.
	Row(table string, row []byte) error
}

// EventHead is the store's own record of its last position and hash.
type EventHead struct {
	Position int64
	Hash     []byte
}

// Event is one entry of the store. Payload is the exact bytes hashed: a
// JSON object holding position, at, table, op, and old and/or new (the row
// before and after); the other fields repeat it for queries.
type Event struct {
	Position int64
	At       time.Time
	Table    string
	Op       string
	Payload  []byte
	PrevHash []byte
	Hash     []byte
}

// Event ops (docs/event-store.md).
const (
	OpSnapshot = "SNAPSHOT" // the row as it was when the store began tracking it: put
	OpInsert   = "INSERT"   // a new row: put, the key must be new
	OpUpdate   = "UPDATE"   // old must be the row the store has; put new
	OpDelete   = "DELETE"   // old must be the row the store has; remove it
)

// GenesisHash is the prev_hash of position 1.
var GenesisHash = make([]byte, sha256.Size)

// EventHash is the hash of an event: sha256(prev_hash || payload).
func EventHash(prev, payload []byte) []byte {
	h := sha256.New()
	h.Write(prev)
	h.Write(payload)
	return h.Sum(nil)
}

// eventRef names an event in a witness.
func eventRef(pos int64) string { return "event:" + strconv.FormatInt(pos, 10) }

// derivedColumns are the columns of a tracked table that the store does
// not carry, because the ledger derives them: an account's balance is the
// sum of its postings.
var derivedColumns = map[string][]string{"accounts": {"balance"}}

// appendOnlyTables are the tables whose rows are never updated or deleted
// (DESIGN.md 9): a correction is a new, compensating transaction.
var appendOnlyTables = map[string]bool{"postings": true, "transactions": true}

// ChainBreak is where the hash chain stops proving the store unedited.
type ChainBreak struct {
	Position int64  `json:"position"`
	Why      string `json:"why"`
}

// EventStoreCheck is what CheckEventStore found: the chain, and the two
// invariants the store gives (postings_append_only,
// event_store_folds_to_ledger), each finished.
type EventStoreCheck struct {
	Events int64
	Head   EventHead
	// Last is the position and hash of the last event read.
	Last EventHead
	// Breaks counts every event at which the chain fails; FirstBreak is
	// the first (nil when the chain verifies).
	Breaks     int
	FirstBreak *ChainBreak
	AppendOnly Invariant
	Folds      Invariant
	// Balances is every account's balance as the fold gives it (the sum
	// of its folded postings), and Tables how many rows each tracked
	// table has in the fold.
	Balances map[string]int64
	Tables   map[string]int
}

// CheckEventStore reads src and checks it: the chain (positions dense from
// 1, each prev_hash the hash before it, each hash sha256(prev_hash ||
// payload), the payload agreeing with its columns, the head at the last
// event); no UPDATE or DELETE of a posting or a transaction; and the fold
// of every event, per table and key, giving back exactly the current rows,
// and every account's balance the sum of its folded postings. It returns
// ErrNoEventStore when src has none.
func CheckEventStore(ctx context.Context, src EventStoreSource) (*EventStoreCheck, error) {
	s := &storeChecker{
		out:        &EventStoreCheck{Balances: map[string]int64{}, Tables: map[string]int{}},
		appendOnly: newCheck(InvPostingsAppendOnly),
		folds:      newCheck(InvEventStoreFolds),
		fold:       map[string]map[string]foldedRow{},
		seen:       map[string]bool{},
		balances:   map[string]int64{},
		sums:       map[string]int64{},
		prev:       GenesisHash,
	}
	if err := src.ReadEventStore(ctx, s); err != nil {
		var off *EventStoreOffError
		if errors.As(err, &off) {
			note := off.Error() + ": the store does not record what happened since, so it is not checked"
			s.appendOnly.skip(note)
			s.folds.skip(note)
			return &EventStoreCheck{AppendOnly: s.appendOnly.done(), Folds: s.folds.done()}, nil
		}
		return nil, err
	}
	s.finish()
	return s.out, nil
}

type foldedRow struct {
	row []byte // compacted JSON
	pos int64  // the event that last wrote it
}

type storeChecker struct {
	out               *EventStoreCheck
	appendOnly, folds *check
	prev              []byte
	next              int64
	fold              map[string]map[string]foldedRow // table → key → row
	seen              map[string]bool                 // tables whose rows were read
	balances          map[string]int64                // account → balance, as the table has it
	sums              map[string]int64                // account → Σ folded postings
	rowsCompared      int
}

func (s *storeChecker) Head(h EventHead) error {
	s.out.Head = h
	s.next = 1
	return nil
}

// payload is an event's payload, decoded.
type payload struct {
	Position *int64          `json:"position"`
	At       *time.Time      `json:"at"`
	Table    *string         `json:"table"`
	Op       *string         `json:"op"`
	Old      json.RawMessage `json:"old"`
	New      json.RawMessage `json:"new"`
}

func (s *storeChecker) breakAt(pos int64, why string) {
	s.out.Breaks++
	if s.out.FirstBreak == nil {
		s.out.FirstBreak = &ChainBreak{Position: pos, Why: why}
	}
	s.appendOnly.violated(fmt.Sprintf("the chain breaks at %s: %s", eventRef(pos), why), eventRef(pos))
}

func (s *storeChecker) Event(e Event) error {
	s.out.Events++
	s.appendOnly.looked(1)
	ref := eventRef(e.Position)
	// One break per event: the first thing wrong with it.
	switch {
	case e.Position != s.next:
		why := fmt.Sprintf("position %d follows %d", e.Position, s.next-1)
		if e.Position > s.next {
			why += fmt.Sprintf(" (positions %d to %d are missing)", s.next, e.Position-1)
		}
		s.breakAt(e.Position, why)
	case !bytes.Equal(e.PrevHash, s.prev):
		s.breakAt(e.Position, fmt.Sprintf("its prev_hash %s is not the hash of %s, %s",
			short(e.PrevHash), eventRef(e.Position-1), short(s.prev)))
	case !bytes.Equal(EventHash(e.PrevHash, e.Payload), e.Hash):
		s.breakAt(e.Position, fmt.Sprintf("its hash %s is not sha256(prev_hash || payload) = %s: the payload or the hash was edited",
			short(e.Hash), short(EventHash(e.PrevHash, e.Payload))))
	}
	s.prev, s.next = e.Hash, e.Position+1
	s.out.Last = EventHead{Position: e.Position, Hash: e.Hash}

	var p payload
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		s.breakAt(e.Position, "its payload is not a JSON object: "+err.Error())
		return nil
	}
	switch {
	case p.Position == nil || *p.Position != e.Position, p.Table == nil || *p.Table != e.Table,
		p.Op == nil || *p.Op != e.Op, p.At == nil || !p.At.Equal(e.At):
		s.breakAt(e.Position, "its columns (position, at, tbl, op) do not say what its payload says")
	}
	table, op := e.Table, e.Op
	if appendOnlyTables[table] && (op == OpUpdate || op == OpDelete) {
		id := rowRef(table, keyOf(p.Old))
		s.appendOnly.violated(fmt.Sprintf("%s %ss %s: %s rows are never updated or deleted; a correction is a new transaction",
			ref, op, id, table), ref, id)
	}
	s.apply(e.Position, table, op, p)
	return nil
}

// apply folds one event into the store's rows, and a posting's amount
// into its account's balance.
func (s *storeChecker) apply(pos int64, table, op string, p payload) {
	ref := eventRef(pos)
	rows := s.fold[table]
	if rows == nil {
		rows = map[string]foldedRow{}
		s.fold[table] = rows
	}
	post := func(raw json.RawMessage, sign int64) {
		if table != "postings" || raw == nil {
			return
		}
		var p struct {
			Account string `json:"account_id"`
			Amount  int64  `json:"amount"`
		}
		if json.Unmarshal(raw, &p) == nil {
			s.sums[p.Account] += sign * p.Amount
		}
	}
	put := func(raw json.RawMessage) {
		k := keyOf(raw)
		if cur, ok := rows[k]; ok {
			post(cur.row, -1)
		}
		rows[k] = foldedRow{row: compact(raw), pos: pos}
		post(raw, 1)
	}
	remove := func(k string) {
		if cur, ok := rows[k]; ok {
			post(cur.row, -1)
			delete(rows, k)
		}
	}
	// matches checks that the old row an UPDATE or DELETE names is the
	// row the store has.
	matches := func() bool {
		k := keyOf(p.Old)
		cur, ok := rows[k]
		switch {
		case !ok:
			s.folds.violated(fmt.Sprintf("%s %ss %s, which the store does not have", ref, op, rowRef(table, k)), ref, rowRef(table, k))
			return false
		case !sameRow(cur.row, p.Old):
			s.folds.violated(fmt.Sprintf("%s %ss %s from a row that is not the one %s left (%s)",
				ref, op, rowRef(table, k), eventRef(cur.pos), diffColumns(cur.row, p.Old)), ref, eventRef(cur.pos), rowRef(table, k))
			return false
		}
		return true
	}
	needOld, needNew := op == OpUpdate || op == OpDelete, op != OpDelete
	if (needOld && keyOf(p.Old) == "") || (needNew && keyOf(p.New) == "") {
		s.folds.violated(fmt.Sprintf("%s %s on %s lacks the row (with its id) it must carry", ref, op, table), ref)
		return
	}
	switch op {
	case OpSnapshot:
		put(p.New)
	case OpInsert:
		if cur, ok := rows[keyOf(p.New)]; ok {
			s.folds.violated(fmt.Sprintf("%s inserts %s, which %s already wrote", ref, rowRef(table, keyOf(p.New)), eventRef(cur.pos)),
				ref, eventRef(cur.pos), rowRef(table, keyOf(p.New)))
		}
		put(p.New)
	case OpUpdate:
		matches()
		remove(keyOf(p.Old))
		put(p.New)
	case OpDelete:
		matches()
		remove(keyOf(p.Old))
	default:
		s.folds.violated(fmt.Sprintf("%s has the unknown op %q", ref, op), ref)
	}
}

func (s *storeChecker) Row(table string, row []byte) error {
	s.seen[table] = true
	s.rowsCompared++
	s.folds.looked(1)
	if table == "accounts" {
		var a struct {
			ID      string `json:"id"`
			Balance int64  `json:"balance"`
		}
		if err := json.Unmarshal(row, &a); err == nil {
			s.balances[a.ID] = a.Balance
		}
	}
	row = withoutColumns(row, derivedColumns[table])
	k := keyOf(row)
	ref := rowRef(table, k)
	cur, ok := s.fold[table][k]
	switch {
	case !ok:
		s.folds.violated(fmt.Sprintf("%s is in the table but no event of the store wrote it", ref), ref)
	case !sameRow(cur.row, row):
		s.folds.violated(fmt.Sprintf("%s differs from the row the store folds to, last written by %s (%s)",
			ref, eventRef(cur.pos), diffColumns(cur.row, row)), ref, eventRef(cur.pos))
	}
	if ok {
		delete(s.fold[table], k)
		s.out.Tables[table]++
	}
	return nil
}

// finish checks what only the whole read tells: the head, the rows the
// store has and the tables have not, and the balances.
func (s *storeChecker) finish() {
	o := s.out
	if o.Head.Position != o.Last.Position || !bytes.Equal(o.Head.Hash, hashOrGenesis(o.Last)) {
		s.breakAt(o.Last.Position, fmt.Sprintf("the head says position %d, hash %s, but the chain ends at position %d, hash %s",
			o.Head.Position, short(o.Head.Hash), o.Last.Position, short(hashOrGenesis(o.Last))))
	}
	for _, table := range slices.Sorted(maps.Keys(s.fold)) {
		if !s.seen[table] {
			s.folds.violated(fmt.Sprintf("the store has events for the table %s, which the database does not have", table), table)
			continue
		}
		rows := s.fold[table]
		for _, k := range slices.Sorted(maps.Keys(rows)) {
			s.folds.looked(1)
			ref := rowRef(table, k)
			s.folds.violated(fmt.Sprintf("%s is in the store (last written by %s) but not in the table", ref, eventRef(rows[k].pos)),
				ref, eventRef(rows[k].pos))
		}
	}
	for _, id := range slices.Sorted(maps.Keys(s.balances)) {
		o.Balances[id] = s.sums[id]
		if s.sums[id] != s.balances[id] {
			s.folds.violated(fmt.Sprintf("account %s has balance %d in the table, but its postings in the store sum to %d",
				id, s.balances[id], s.sums[id]), id)
		}
	}
	if o.Breaks > 0 {
		s.folds.inv.Note = fmt.Sprintf("the chain breaks at %d events (first %s): the fold reads the store as it is", o.Breaks, eventRef(o.FirstBreak.Position))
	} else {
		s.folds.inv.Note = fmt.Sprintf("%d events folded; %d rows compared; %d balances", o.Events, s.rowsCompared, len(s.balances))
	}
	s.appendOnly.inv.Note = fmt.Sprintf("%d events, head at position %d", o.Events, o.Head.Position)
	o.AppendOnly, o.Folds = s.appendOnly.done(), s.folds.done()
}

func hashOrGenesis(h EventHead) []byte {
	if h.Position == 0 {
		return GenesisHash
	}
	return h.Hash
}

// keyOf is a row's key: its id, as JSON text ("\"b1\"" or "17").
func keyOf(row json.RawMessage) string {
	var r struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(row, &r) != nil {
		return ""
	}
	return string(r.ID)
}

// rowRef names a row in a witness as reconciliation does everywhere:
// "posting:42", "tx:17", and a bet, account or market by its id.
func rowRef(table, key string) string {
	var id string
	if json.Unmarshal([]byte(key), &id) != nil {
		id = key
	}
	switch table {
	case "postings":
		return "posting:" + id
	case "transactions":
		return "tx:" + id
	}
	return id
}

func compact(raw []byte) []byte {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return slices.Clone(raw)
	}
	return b.Bytes()
}

// sameRow compares two rows as JSON values: the same bytes once
// compacted, or else the same columns with the same values (times as
// instants, whatever their zone).
func sameRow(a, b []byte) bool {
	if bytes.Equal(a, compact(b)) {
		return true
	}
	x, y := decodeRow(a), decodeRow(b)
	return x != nil && reflect.DeepEqual(x, y)
}

// decodeRow decodes a row, with numbers kept as text and times normalised
// to UTC.
func decodeRow(raw []byte) map[string]any {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var m map[string]any
	if d.Decode(&m) != nil {
		return nil
	}
	for k, v := range m {
		if s, ok := v.(string); ok {
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				m[k] = t.UTC().Format(time.RFC3339Nano)
			}
		}
	}
	return m
}

// diffColumns names the columns in which two rows differ.
func diffColumns(a, b []byte) string {
	x, y := decodeRow(a), decodeRow(b)
	var cols []string
	for k := range x {
		if !reflect.DeepEqual(x[k], y[k]) {
			cols = append(cols, fmt.Sprintf("%s: %v in the store, %v here", k, x[k], y[k]))
		}
	}
	for k := range y {
		if _, ok := x[k]; !ok {
			cols = append(cols, fmt.Sprintf("%s: absent in the store, %v here", k, y[k]))
		}
	}
	slices.Sort(cols)
	if len(cols) == 0 {
		return "unreadable"
	}
	return fmt.Sprint(cols)
}

// withoutColumns removes cols from a JSON object.
func withoutColumns(row []byte, cols []string) []byte {
	if len(cols) == 0 {
		return row
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(row, &m) != nil {
		return row
	}
	for _, c := range cols {
		delete(m, c)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return row
	}
	return b
}

func short(h []byte) string {
	s := hex.EncodeToString(h)
	if len(s) > 16 {
		return s[:16] + "…"
	}
	return s
}
