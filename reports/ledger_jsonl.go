package reports

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/inplaylabs/inplay/internal/herr"

	"github.com/inplaylabs/inplay/internal/jsonl"
)

// The "type" of each line of a JSON Lines ledger export (docs/ledger.md).
const (
	LineAccount     = "account"
	LineTransaction = "transaction"
	LinePosting     = "posting"
	LineBet         = "bet"
	LineMarket      = "market"
)

// MaxLedgerLine is the longest line, in bytes, a JSON Lines ledger may
// have; a longer line is a broken file, not a big record.
const MaxLedgerLine = 1 << 20

// LedgerSourceName is the Source of the *herr.Error (EINPUT) listing a JSON
// Lines ledger's problems, each naming its line, so that a platform's
// export can be fixed in one pass.
const LedgerSourceName = "invalid ledger export"

// ledgerProblems collects a JSON Lines ledger's problems, keeping the first
// herr.MaxKept.
type ledgerProblems struct{ herr.Error }

func (e *ledgerProblems) add(line int, format string, args ...any) {
	if len(e.Problems) < herr.MaxKept {
		e.Problems = append(e.Problems, fmt.Sprintf("line %d: ", line)+fmt.Sprintf(format, args...))
	} else {
		e.Omitted++
	}
}

// err is the *herr.Error of what was collected.
func (e *ledgerProblems) err() *herr.Error {
	e.Code, e.Source = herr.EINPUT, LedgerSourceName
	return &e.Error
}

// The line shapes. Pointers tell a missing field from a zero one: every
// field that ledger.go does not mark omitempty is required.
type (
	accountLine struct {
		Type          string  `json:"type"`
		ID            *string `json:"id"`
		Kind          *string `json:"kind"`
		AllowNegative *bool   `json:"allow_negative"`
		Balance       *int64  `json:"balance"`
	}
	transactionLine struct {
		Type      string     `json:"type"`
		ID        *int64     `json:"id"`
		Kind      *string    `json:"kind"`
		Ref       *string    `json:"ref"`
		CreatedAt *time.Time `json:"created_at"`
	}
	postingLine struct {
		Type    string  `json:"type"`
		ID      *int64  `json:"id"`
		TxID    *int64  `json:"tx_id"`
		Account *string `json:"account"`
		Amount  *int64  `json:"amount"`
	}
	betLine struct {
		Type      string     `json:"type"`
		ID        *string    `json:"id"`
		Account   *string    `json:"account"`
		Market    *string    `json:"market"`
		Selection *string    `json:"selection"`
		Stake     *int64     `json:"stake"`
		OddsE4    *int64     `json:"odds_e4"`
		Status    *string    `json:"status"`
		Payout    *int64     `json:"payout"`
		PlacedAt  *time.Time `json:"placed_at"`
		SettledAt *time.Time `json:"settled_at,omitempty"`
	}
	marketLine struct {
		Type       string     `json:"type"`
		ID         *string    `json:"id"`
		Status     *string    `json:"status"`
		Winners    *[]string  `json:"winners,omitempty"`
		Resulted   *bool      `json:"resulted"`
		ResultedAt *time.Time `json:"resulted_at,omitempty"`
	}
)

// The values each enumerated field may take.
var (
	accountKinds   = []string{AccountPlayer, AccountHouse, AccountSuspense, AccountCash}
	txKinds        = []string{TxDeposit, TxWithdraw, TxStake, TxSettle, TxVoid, TxCashout, TxRollback}
	betStatuses    = []string{BetAccepted, BetWon, BetLost, BetVoid, BetCashedOut}
	marketStatuses = []string{"open", "suspended", "closed", "settled"}
)

// fieldCheck collects the problems of one line.
type fieldCheck struct {
	what     string
	problems []string
}

func (f *fieldCheck) missing(name string, present bool) bool {
	if !present {
		f.problems = append(f.problems, fmt.Sprintf("%s: %q is required", f.what, name))
	}
	return present
}

func (f *fieldCheck) text(name string, v *string) string {
	if f.missing(name, v != nil) && *v == "" {
		f.problems = append(f.problems, fmt.Sprintf("%s: %q must not be empty", f.what, name))
	}
	return deref(v)
}

func (f *fieldCheck) oneOf(name string, v *string, allowed []string) string {
	if f.missing(name, v != nil) && !slices.Contains(allowed, *v) {
		f.problems = append(f.problems, fmt.Sprintf("%s: %s %q is not one of: %s", f.what, name, *v, strings.Join(allowed, ", ")))
	}
	return deref(v)
}

func (f *fieldCheck) positive(name string, v *int64) int64 {
	if f.missing(name, v != nil) && *v <= 0 {
		f.problems = append(f.problems, fmt.Sprintf("%s: %q must be positive, not %d", f.what, name, *v))
	}
	return deref(v)
}

func (f *fieldCheck) number(name string, v *int64) int64 {
	f.missing(name, v != nil)
	return deref(v)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// NewJSONLLedger returns a LedgerSource that reads a JSON Lines ledger
// export (docs/ledger.md) from r, once: r is consumed by the first call to
// Ledger, and later calls return the same result. It is not safe for
// concurrent use.
func NewJSONLLedger(r io.Reader) LedgerSource {
	return &jsonlLedger{r: r}
}

type jsonlLedger struct {
	r    io.Reader
	read bool
	l    *Ledger
	err  error
}

// Ledger decodes the export; see ReadJSONL.
func (j *jsonlLedger) Ledger(ctx context.Context) (*Ledger, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !j.read {
		j.read = true
		j.l, j.err = ReadJSONL(j.r)
	}
	return j.l, j.err
}

// OpenJSONLLedger reads the JSON Lines ledger export at path, gunzipped
// when it starts with gzip's magic bytes. A malformed file gives a
// *herr.Error (EINPUT) naming every bad line.
func OpenJSONLLedger(path string) (*Ledger, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	var r io.Reader = br
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("ledger %s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	l, err := ReadJSONL(r)
	if err != nil {
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	return l, nil
}

// ReadJSONL decodes a JSON Lines ledger export. Decoding is strict: an
// unknown type or field, a missing required field, a value outside its
// enumeration or a repeated account, transaction, posting or market id is
// an error. It reads the whole input and returns every problem in one
// *herr.Error (EINPUT), each naming its line. Blank lines are ignored. Records may
// come in any order; the Ledger keeps file order within each kind.
// Consistency between records (double entry, balances, references) is not
// checked here: that is what Reconcile is for.
func ReadJSONL(r io.Reader) (*Ledger, error) {
	jr := jsonl.NewReader(r, "", jsonl.Options{MaxLine: MaxLedgerLine})
	l := &Ledger{}
	var lerr ledgerProblems
	firstLine := map[string]map[string]int{} // type → id → first line
	seen := func(typ, id string, line int) {
		if firstLine[typ] == nil {
			firstLine[typ] = map[string]int{}
		}
		if prev, dup := firstLine[typ][id]; dup {
			lerr.add(line, "%s %s repeats the one on line %d", typ, id, prev)
			return
		}
		firstLine[typ][id] = line
	}
	for {
		b, err := jr.Next()
		if err == io.EOF {
			break
		}
		var le *jsonl.Error
		switch {
		case errors.As(err, &le) && le.TooLong:
			lerr.add(le.Line, "longer than %d bytes; reading stopped here", MaxLedgerLine)
			return nil, lerr.err()
		case errors.As(err, &le) && le.Err != nil:
			return nil, fmt.Errorf("reading ledger line %d: %w", le.Line, le.Err)
		case err != nil:
			return nil, err
		}
		line := jr.Line()
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		var probe struct {
			Type *string `json:"type"`
		}
		// Only the first value: decodeLine reports anything after it.
		if err := json.NewDecoder(bytes.NewReader(b)).Decode(&probe); err != nil {
			lerr.add(line, "bad JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
			continue
		}
		if probe.Type == nil {
			lerr.add(line, `"type" is required (one of: account, transaction, posting, bet, market)`)
			continue
		}
		var problems []string
		switch *probe.Type {
		case LineAccount:
			var v accountLine
			if problems = decodeLine(b, &v); problems == nil {
				f := fieldCheck{what: "account"}
				a := Account{
					ID:            f.text("id", v.ID),
					Kind:          f.oneOf("kind", v.Kind, accountKinds),
					AllowNegative: deref(v.AllowNegative),
					Balance:       f.number("balance", v.Balance),
				}
				f.missing("allow_negative", v.AllowNegative != nil)
				if problems = f.problems; problems == nil {
					seen(LineAccount, a.ID, line)
					l.Accounts = append(l.Accounts, a)
				}
			}
		case LineTransaction:
			var v transactionLine
			if problems = decodeLine(b, &v); problems == nil {
				f := fieldCheck{what: "transaction"}
				t := Transaction{
					ID:   f.positive("id", v.ID),
					Kind: f.oneOf("kind", v.Kind, txKinds),
					Ref:  f.text("ref", v.Ref),
				}
				if f.missing("created_at", v.CreatedAt != nil) {
					t.CreatedAt = *v.CreatedAt
				}
				if problems = f.problems; problems == nil {
					seen(LineTransaction, fmt.Sprint(t.ID), line)
					l.Transactions = append(l.Transactions, t)
				}
			}
		case LinePosting:
			var v postingLine
			if problems = decodeLine(b, &v); problems == nil {
				f := fieldCheck{what: "posting"}
				p := Posting{
					ID:      f.positive("id", v.ID),
					TxID:    f.positive("tx_id", v.TxID),
					Account: f.text("account", v.Account),
					Amount:  f.number("amount", v.Amount),
				}
				if v.Amount != nil && p.Amount == 0 {
					f.problems = append(f.problems, `posting: "amount" must not be 0`)
				}
				if problems = f.problems; problems == nil {
					seen(LinePosting, fmt.Sprint(p.ID), line)
					l.Postings = append(l.Postings, p)
				}
			}
		case LineBet:
			var v betLine
			if problems = decodeLine(b, &v); problems == nil {
				f := fieldCheck{what: "bet"}
				bet := Bet{
					ID:        f.text("id", v.ID),
					Account:   f.text("account", v.Account),
					Market:    f.text("market", v.Market),
					Selection: f.text("selection", v.Selection),
					Stake:     f.number("stake", v.Stake),
					OddsE4:    f.number("odds_e4", v.OddsE4),
					Status:    f.oneOf("status", v.Status, betStatuses),
					Payout:    f.number("payout", v.Payout),
					SettledAt: v.SettledAt,
				}
				if f.missing("placed_at", v.PlacedAt != nil) {
					bet.PlacedAt = *v.PlacedAt
				}
				// A bet id may repeat: Reconcile reports it (bet_at_most_once).
				if problems = f.problems; problems == nil {
					l.Bets = append(l.Bets, bet)
				}
			}
		case LineMarket:
			var v marketLine
			if problems = decodeLine(b, &v); problems == nil {
				f := fieldCheck{what: "market"}
				m := Market{
					ID:         f.text("id", v.ID),
					Status:     f.oneOf("status", v.Status, marketStatuses),
					ResultedAt: v.ResultedAt,
				}
				if f.missing("resulted", v.Resulted != nil) {
					m.Resulted = *v.Resulted
				}
				switch {
				case v.Winners != nil && len(*v.Winners) > 0 && !m.Resulted:
					f.problems = append(f.problems, `market: "winners" is set but "resulted" is false`)
				case m.Resulted && v.Winners == nil:
					m.Winners = []string{} // resulted with no winners: void
				case m.Resulted:
					m.Winners = *v.Winners
				}
				if problems = f.problems; problems == nil {
					seen(LineMarket, m.ID, line)
					l.Markets = append(l.Markets, m)
				}
			}
		default:
			problems = []string{fmt.Sprintf("type %q is not one of: account, transaction, posting, bet, market", *probe.Type)}
		}
		for _, p := range problems {
			lerr.add(line, "%s", p)
		}
	}
	if len(lerr.Problems) > 0 || lerr.Omitted > 0 {
		return nil, lerr.err()
	}
	return l, nil
}

// decodeLine decodes exactly one JSON object from b into v, refusing
// unknown fields and anything after the object.
func decodeLine(b []byte, v any) []string {
	if err := jsonl.Unmarshal(b, v); err != nil {
		return []string{err.Error()}
	}
	return nil
}

// WriteJSONL writes l as a JSON Lines ledger export (docs/ledger.md):
// accounts, markets, transactions, postings, then bets, each in l's order.
// ReadJSONL reads it back.
func WriteJSONL(w io.Writer, l *Ledger) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	put := func(v any) error {
		if err := enc.Encode(v); err != nil {
			return fmt.Errorf("write ledger: %w", err)
		}
		return nil
	}
	for _, a := range l.Accounts {
		if err := put(accountLine{LineAccount, &a.ID, &a.Kind, &a.AllowNegative, &a.Balance}); err != nil {
			return err
		}
	}
	for _, m := range l.Markets {
		v := marketLine{Type: LineMarket, ID: &m.ID, Status: &m.Status, Resulted: &m.Resulted, ResultedAt: m.ResultedAt}
		if m.Resulted {
			winners := m.Winners
			if winners == nil {
				winners = []string{} // void: written out, not left to the reader's default
			}
			v.Winners = &winners
		}
		if err := put(v); err != nil {
			return err
		}
	}
	for _, t := range l.Transactions {
		if err := put(transactionLine{LineTransaction, &t.ID, &t.Kind, &t.Ref, &t.CreatedAt}); err != nil {
			return err
		}
	}
	for _, p := range l.Postings {
		if err := put(postingLine{LinePosting, &p.ID, &p.TxID, &p.Account, &p.Amount}); err != nil {
			return err
		}
	}
	for _, b := range l.Bets {
		v := betLine{LineBet, &b.ID, &b.Account, &b.Market, &b.Selection, &b.Stake, &b.OddsE4, &b.Status, &b.Payout, &b.PlacedAt, b.SettledAt}
		if err := put(v); err != nil {
			return err
		}
	}
	return nil
}
