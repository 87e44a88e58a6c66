package betfair

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/valyala/fastjson"

	"github.com/inplaylabs/inplay/platform"
)

// maxPT bounds a message's pt (Unix ms): about the year 37,000, far past
// any real recording, and small enough that (pt - start) × 1000 never
// overflows an int64 of microseconds.
const maxPT = 1 << 50

// maxLevel bounds a batb/batl/bdatb/bdatl level: Betfair sends at most 10.
const maxLevel = 99

// message is one decoded line of a Betfair stream file. Fields the importer
// does not use (clk, initialClk, ct, conflateMs, heartbeatMs, status, id,
// and any the format gains) are read past.
type message struct {
	op   string
	pt   int64
	mc   []marketChange
	cc   []cricketChange
	file int   // index of the file in Open's paths
	line int64 // 1-based line number in that file
}

// marketChange is one element of an mcm's mc: a change to one market. The
// market's tv and con are read past.
type marketChange struct {
	id               string
	img              bool
	marketDefinition *marketDefinition
	rc               []runnerChange
}

// marketDefinition is the part of a Betfair market definition that the
// capture carries. Betfair always sends the whole definition.
type marketDefinition struct {
	status      *string
	inPlay      *bool
	betDelay    *int64
	settledTime bool // it has one
	runners     []runnerDef
}

// runnerDef is one runner of a market definition.
type runnerDef struct {
	id               int64
	hc               float64
	status           string
	adjustmentFactor *float64
}

// runnerChange is one element of a market change's rc. Starting-price
// fields (spn, spf, spb, spl) are read past: the capture has no starting
// price.
type runnerChange struct {
	id                                      int64
	hc                                      float64
	ltp, tv                                 float64
	hasLtp, hasTv                           bool
	atb, atl, trd, batb, batl, bdatb, bdatl [][]float64 // nil: absent
}

// cricketChange is one element of a ccm's cc: the score feed of one match,
// keyed by the market it belongs to. Its fixtureInfo, teams and most of its
// matchStats are read past.
type cricketChange struct {
	marketID       string
	currentInnings *int
	incidents      []incident
	hasIncidents   bool // it has an incidentListWrapper.incidentList
}

// incident is one entry of a score feed's incident list.
type incident struct {
	typ        string // incidentType
	value      string // value, a string or a number in the feed
	innings    *int
	overs      string // overs, a string or a number in the feed
	actualTime int64
}

// decoder decodes lines, reusing its memory from line to line: a message
// it returns is valid until its next decode. (encoding/json's reflection
// was most of the import's time, and a ladder update, which is most of a
// file's bytes, is many small arrays.)
type decoder struct {
	p   fastjson.Parser
	ids map[string]string // market ids, interned

	// Arenas, emptied at each decode: a slice handed out stays valid
	// when a later one grows its arena, which then moves.
	mcs    []marketChange
	rcs    []runnerChange
	floats []float64
	rows   [][]float64
}

// reserve extends *arena by n zero values and returns them.
func reserve[T any](arena *[]T, n int) []T {
	start := len(*arena)
	*arena = append(*arena, make([]T, n)...)
	return (*arena)[start : start+n : start+n]
}

// maxInterned bounds decoder.ids: a file of that many markets still
// decodes, only with an allocation per id beyond it.
const maxInterned = 1 << 16

// decodeLine decodes and checks one line with a new decoder.
func decodeLine(b []byte) (message, error) {
	var d decoder
	return d.decode(b)
}

// decode decodes and checks one non-blank line. An error means the line is
// bad: not a JSON object, no op, an mcm or ccm without a usable pt, or a
// field the importer uses holding something the format does not allow.
// Nothing of a bad line is applied.
func (d *decoder) decode(b []byte) (message, error) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return message{}, errors.New("not a JSON object")
	}
	// fastjson's parser accepts NaN and Infinity; the validator is strict.
	if err := fastjson.ValidateBytes(b); err != nil {
		return message{}, fmt.Errorf("bad JSON: %v", err)
	}
	v, err := d.p.ParseBytes(b)
	if err != nil {
		return message{}, fmt.Errorf("bad JSON: %v", err)
	}
	op, ok, err := optString(v, "op")
	switch {
	case err != nil:
		return message{}, err
	case !ok || len(op) == 0:
		return message{}, errors.New(`no "op": not a Betfair stream message`)
	}
	d.mcs, d.rcs, d.floats, d.rows = d.mcs[:0], d.rcs[:0], d.floats[:0], d.rows[:0]
	m := message{op: internOp(op)}
	if m.op != "mcm" && m.op != "ccm" {
		return m, nil // skipped and counted; nothing else of it matters
	}
	pt, ok, err := optWhole(v, "pt")
	switch {
	case err != nil:
		return message{}, err
	case !ok:
		return message{}, fmt.Errorf("%s has no pt (publish time)", m.op)
	case pt < 0 || pt > maxPT:
		return message{}, fmt.Errorf("%s pt %d is not a Unix time in milliseconds", m.op, pt)
	}
	m.pt = pt
	key := "mc"
	if m.op == "ccm" {
		key = "cc"
	}
	changes, _, err := optArray(v, key)
	if err != nil {
		return message{}, err
	}
	if m.op == "mcm" {
		m.mc = reserve(&d.mcs, len(changes))
		for i, c := range changes {
			if err := d.marketChange(c, &m.mc[i]); err != nil {
				return message{}, fmt.Errorf("mc[%d]: %w", i, err)
			}
		}
		return m, nil
	}
	m.cc = make([]cricketChange, len(changes))
	for i, c := range changes {
		if err := d.cricketChange(c, &m.cc[i]); err != nil {
			return message{}, fmt.Errorf("cc[%d]: %w", i, err)
		}
	}
	return m, nil
}

func (d *decoder) marketChange(v *fastjson.Value, mc *marketChange) error {
	if v.Type() != fastjson.TypeObject {
		return fmt.Errorf("is %s, want an object", typeName(v))
	}
	id, ok, err := optString(v, "id")
	switch {
	case err != nil:
		return err
	case !ok || len(id) == 0:
		return errors.New("no market id")
	}
	if mc.id, err = d.marketID(id); err != nil {
		return fmt.Errorf("market id %w", err)
	}
	if mc.img, _, err = optBool(v, "img"); err != nil {
		return err
	}
	if dv := v.Get("marketDefinition"); dv != nil && dv.Type() != fastjson.TypeNull {
		mc.marketDefinition = new(marketDefinition)
		if err := definition(dv, mc.marketDefinition); err != nil {
			return fmt.Errorf("marketDefinition: %w", err)
		}
	}
	rcs, _, err := optArray(v, "rc")
	if err != nil {
		return err
	}
	mc.rc = reserve(&d.rcs, len(rcs))
	for i, r := range rcs {
		if err := d.runnerChange(r, &mc.rc[i]); err != nil {
			return fmt.Errorf("rc[%d]%w", i, err)
		}
	}
	return nil
}

// marketID is b as a market id, interned, or why the platform refuses it.
func (d *decoder) marketID(b []byte) (string, error) {
	if s, ok := d.ids[string(b)]; ok {
		return s, nil
	}
	s := string(b)
	if err := platform.CheckID(s); err != nil {
		return "", err
	}
	if d.ids == nil {
		d.ids = make(map[string]string)
	}
	if len(d.ids) < maxInterned {
		d.ids[s] = s
	}
	return s, nil
}

func definition(v *fastjson.Value, d *marketDefinition) error {
	if v.Type() != fastjson.TypeObject {
		return fmt.Errorf("is %s, want an object", typeName(v))
	}
	if s, ok, err := optString(v, "status"); err != nil {
		return err
	} else if ok {
		d.status = new(internStatus(s))
	}
	if b, ok, err := optBool(v, "inPlay"); err != nil {
		return err
	} else if ok {
		d.inPlay = &b
	}
	if n, ok, err := optWhole(v, "betDelay"); err != nil {
		return err
	} else if ok {
		d.betDelay = &n
	}
	s, ok, err := optString(v, "settledTime")
	if err != nil {
		return err
	}
	d.settledTime = ok && len(s) > 0
	runners, _, err := optArray(v, "runners")
	if err != nil {
		return err
	}
	d.runners = make([]runnerDef, len(runners))
	for i, rv := range runners {
		r := &d.runners[i]
		if rv.Type() != fastjson.TypeObject {
			return fmt.Errorf("runners[%d] is %s, want an object", i, typeName(rv))
		}
		id, ok, err := optWhole(rv, "id")
		switch {
		case err != nil:
			return fmt.Errorf("runners[%d]: %w", i, err)
		case !ok:
			return fmt.Errorf("runners[%d] has no id", i)
		}
		r.id = id
		if r.hc, err = handicap(rv); err != nil {
			return fmt.Errorf("runners[%d]: %w", i, err)
		}
		s, _, err := optString(rv, "status")
		if err != nil {
			return fmt.Errorf("runners[%d]: %w", i, err)
		}
		r.status = internStatus(s)
		if f, ok, err := optFloat(rv, "adjustmentFactor"); err != nil {
			return fmt.Errorf("runners[%d]: %w", i, err)
		} else if ok {
			r.adjustmentFactor = &f
		}
	}
	return nil
}

// runnerChange decodes one rc entry; its errors start with the field's
// path within the entry (".atb[2] has 3 numbers", " has no id"), to follow
// "rc[i]".
func (d *decoder) runnerChange(v *fastjson.Value, rc *runnerChange) error {
	if v.Type() != fastjson.TypeObject {
		return fmt.Errorf(" is %s, want an object", typeName(v))
	}
	id, ok, err := optWhole(v, "id")
	switch {
	case err != nil:
		return fmt.Errorf(".%w", err)
	case !ok:
		return errors.New(" has no id")
	}
	rc.id = id
	if rc.hc, err = handicap(v); err != nil {
		return fmt.Errorf(".%w", err)
	}
	if rc.ltp, rc.hasLtp, err = optFloat(v, "ltp"); err != nil {
		return fmt.Errorf(".%w", err)
	}
	if rc.tv, rc.hasTv, err = optFloat(v, "tv"); err != nil {
		return fmt.Errorf(".%w", err)
	}
	// One pass over the keys for the ladders, most of the bytes.
	o, _ := v.Object()
	o.Visit(func(key []byte, f *fastjson.Value) {
		if err != nil || f.Type() == fastjson.TypeNull {
			return
		}
		var dst *[][]float64
		leveled := false
		switch string(key) {
		case "atb":
			dst = &rc.atb
		case "atl":
			dst = &rc.atl
		case "trd":
			dst = &rc.trd
		case "batb":
			dst, leveled = &rc.batb, true
		case "batl":
			dst, leveled = &rc.batl, true
		case "bdatb":
			dst, leveled = &rc.bdatb, true
		case "bdatl":
			dst, leveled = &rc.bdatl, true
		default:
			return
		}
		entries, lerr := d.ladder(f, leveled)
		if lerr != nil {
			err = fmt.Errorf(".%s%w", key, lerr)
			return
		}
		*dst = entries
	})
	return err
}

// ladder decodes a ladder update: [price,size] pairs, or
// [level,price,size] triples with a whole level from 0 to maxLevel. Values
// (a price off Betfair's ladder, a negative size) are judged when applied,
// as notes, not here. An empty update is an empty, non-nil slice.
func (d *decoder) ladder(v *fastjson.Value, leveled bool) ([][]float64, error) {
	if v.Type() != fastjson.TypeArray {
		return nil, fmt.Errorf(" is %s, want an array", typeName(v))
	}
	want, shape := 2, "[price,size]"
	if leveled {
		want, shape = 3, "[level,price,size]"
	}
	entries := v.GetArray()
	flat := reserve(&d.floats, len(entries)*want)
	out := reserve(&d.rows, len(entries))
	for j, e := range entries {
		if e.Type() != fastjson.TypeArray {
			return nil, fmt.Errorf("[%d] is %s, want %s", j, typeName(e), shape)
		}
		nums := e.GetArray()
		if len(nums) != want {
			return nil, fmt.Errorf("[%d] has %d numbers, want %s", j, len(nums), shape)
		}
		row := flat[j*want : (j+1)*want : (j+1)*want]
		for k, n := range nums {
			x, err := number(n)
			if err != nil {
				return nil, fmt.Errorf("[%d][%d] %w", j, k, err)
			}
			row[k] = x
		}
		if leveled && (row[0] < 0 || row[0] > maxLevel || row[0] != math.Trunc(row[0])) {
			return nil, fmt.Errorf("[%d] level %v is not a whole number from 0 to %d", j, row[0], maxLevel)
		}
		out[j] = row
	}
	return out, nil
}

func (d *decoder) cricketChange(v *fastjson.Value, cc *cricketChange) error {
	if v.Type() != fastjson.TypeObject {
		return fmt.Errorf("is %s, want an object", typeName(v))
	}
	id, ok, err := optString(v, "marketId")
	if err != nil {
		return err
	}
	if ok && len(id) > 0 {
		if cc.marketID, err = d.marketID(id); err != nil {
			return fmt.Errorf("marketId %w", err)
		}
	}
	if ms := v.Get("matchStats"); ms != nil && ms.Type() == fastjson.TypeObject {
		if n, ok, err := optWhole(ms, "currentInnings"); err != nil {
			return fmt.Errorf("matchStats.%w", err)
		} else if ok {
			cc.currentInnings = new(clampInt(n))
		}
	}
	w := v.Get("incidentListWrapper")
	if w == nil || w.Type() == fastjson.TypeNull {
		return nil
	}
	if w.Type() != fastjson.TypeObject {
		return fmt.Errorf("incidentListWrapper is %s, want an object", typeName(w))
	}
	list, ok, err := optArray(w, "incidentList")
	if err != nil {
		return fmt.Errorf("incidentListWrapper.%w", err)
	}
	cc.hasIncidents = ok
	cc.incidents = make([]incident, len(list))
	for i, iv := range list {
		in := &cc.incidents[i]
		if err := incidentOf(iv, in); err != nil {
			return fmt.Errorf("incidentList[%d]: %w", i, err)
		}
	}
	return nil
}

func incidentOf(v *fastjson.Value, in *incident) error {
	if v.Type() != fastjson.TypeObject {
		return fmt.Errorf("is %s, want an object", typeName(v))
	}
	typ, _, err := optString(v, "incidentType")
	if err != nil {
		return err
	}
	in.typ = internIncident(typ)
	if in.value, err = stringOrNumber(v, "value"); err != nil {
		return err
	}
	if in.overs, err = stringOrNumber(v, "overs"); err != nil {
		return err
	}
	if n, ok, err := optWhole(v, "innings"); err != nil {
		return err
	} else if ok {
		in.innings = new(clampInt(n))
	}
	if in.actualTime, _, err = optWhole(v, "actualTime"); err != nil {
		return err
	}
	return nil
}

// The getters below read one field of an object: absent and null are the
// same (ok false); a value of another JSON type is an error naming the
// field.

func optString(v *fastjson.Value, key string) ([]byte, bool, error) {
	f := v.Get(key)
	if f == nil || f.Type() == fastjson.TypeNull {
		return nil, false, nil
	}
	b, err := f.StringBytes()
	if err != nil {
		return nil, false, wrongType(key, f, "a string")
	}
	return b, true, nil
}

func optBool(v *fastjson.Value, key string) (bool, bool, error) {
	f := v.Get(key)
	if f == nil || f.Type() == fastjson.TypeNull {
		return false, false, nil
	}
	b, err := f.Bool()
	if err != nil {
		return false, false, wrongType(key, f, "true or false")
	}
	return b, true, nil
}

func optArray(v *fastjson.Value, key string) ([]*fastjson.Value, bool, error) {
	f := v.Get(key)
	if f == nil || f.Type() == fastjson.TypeNull {
		return nil, false, nil
	}
	a, err := f.Array()
	if err != nil {
		return nil, false, wrongType(key, f, "an array")
	}
	return a, true, nil
}

func optFloat(v *fastjson.Value, key string) (float64, bool, error) {
	f := v.Get(key)
	if f == nil || f.Type() == fastjson.TypeNull {
		return 0, false, nil
	}
	x, err := number(f)
	if err != nil {
		return 0, false, fmt.Errorf("%s %w", key, err)
	}
	return x, true, nil
}

// optWhole reads a whole number (an id, a time in ms, a count).
func optWhole(v *fastjson.Value, key string) (int64, bool, error) {
	f := v.Get(key)
	if f == nil || f.Type() == fastjson.TypeNull {
		return 0, false, nil
	}
	if f.Type() != fastjson.TypeNumber {
		return 0, false, wrongType(key, f, "a number")
	}
	n, err := f.Int64()
	if err != nil {
		// 1.0 and 1e3 are whole too.
		x, ferr := number(f)
		if ferr != nil || x != math.Trunc(x) || math.Abs(x) > 1<<53 {
			return 0, false, fmt.Errorf("%s is %s, want a whole number", key, f)
		}
		n = int64(x)
	}
	return n, true, nil
}

// number is v as a finite float64.
func number(v *fastjson.Value) (float64, error) {
	if v.Type() != fastjson.TypeNumber {
		return 0, fmt.Errorf("is %s, want a number", typeName(v))
	}
	x, err := v.Float64()
	if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
		return 0, fmt.Errorf("%s is not a finite number", v)
	}
	return x, nil
}

// stringOrNumber reads a field the score feed sends as a string ("1",
// "0.1") and a newer feed might send as a number: either is its text.
func stringOrNumber(v *fastjson.Value, key string) (string, error) {
	f := v.Get(key)
	if f == nil || f.Type() == fastjson.TypeNull {
		return "", nil
	}
	switch f.Type() {
	case fastjson.TypeString:
		b, _ := f.StringBytes()
		return string(b), nil
	case fastjson.TypeNumber:
		return f.String(), nil
	}
	return "", wrongType(key, f, "a string or a number")
}

// handicap reads a runner's hc, refusing one that cannot be part of a
// selection id.
func handicap(v *fastjson.Value) (float64, error) {
	hc, _, err := optFloat(v, "hc")
	if err != nil {
		return 0, err
	}
	if math.Abs(hc) > 1e6 {
		return 0, fmt.Errorf("hc %v is out of range", hc)
	}
	return hc, nil
}

func wrongType(key string, v *fastjson.Value, want string) error {
	return fmt.Errorf("%s is %s, want %s", key, typeName(v), want)
}

func typeName(v *fastjson.Value) string {
	switch v.Type() {
	case fastjson.TypeString:
		return "a JSON string"
	case fastjson.TypeNumber:
		return "a JSON number"
	case fastjson.TypeObject:
		return "a JSON object"
	case fastjson.TypeArray:
		return "a JSON array"
	case fastjson.TypeTrue, fastjson.TypeFalse:
		return "a JSON boolean"
	}
	return "null"
}

func clampInt(n int64) int {
	return int(max(min(n, math.MaxInt32), math.MinInt32))
}

// internOp, internStatus and internIncident return the common values
// without allocating.
func internOp(b []byte) string {
	switch string(b) {
	case "mcm":
		return "mcm"
	case "ccm":
		return "ccm"
	case "heartbeat":
		return "heartbeat"
	case "connection":
		return "connection"
	case "status":
		return "status"
	}
	return string(b)
}

func internStatus(b []byte) string {
	for _, s := range [...]string{"ACTIVE", "WINNER", "LOSER", "REMOVED", "REMOVED_VACANT", "PLACED", "HIDDEN", "OPEN", "SUSPENDED", "CLOSED", "INACTIVE"} {
		if string(b) == s {
			return s
		}
	}
	return string(b)
}

func internIncident(b []byte) string {
	for _, s := range [...]string{"STRIKE", "OUT", "WIDE", "BYE", "LEG_BYE", "NO_BALL", "INNING_END"} {
		if string(b) == s {
			return s
		}
	}
	return string(b)
}

// selectionID is the capture's selection id for a Betfair runner: its
// selection id in decimal, and when the runner has a non-zero handicap
// (Asian handicap and line markets list one selection id at several
// handicaps), "@" and the handicap ("47972@-1.5").
func selectionID(id int64, hc float64) string {
	s := strconv.FormatInt(id, 10)
	if hc != 0 {
		s += "@" + strconv.FormatFloat(hc, 'f', -1, 64)
	}
	return s
}
