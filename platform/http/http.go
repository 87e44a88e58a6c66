// Package http is the reference platform's HTTP API (docs/api.md) on
// net/http. It decodes requests strictly, calls the platform's services and
// answers errors as {"code","message"} with the status that one table gives
// each code.
package http

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/inplaylabs/inplay/platform"
)

// MaxBodyBytes bounds a request body; every valid body is far smaller.
const MaxBodyBytes = 16 << 10

// statuses is the one table that maps error codes to HTTP statuses.
var statuses = map[string]int{
	platform.EINVALID:         http.StatusBadRequest,
	platform.ENOTFOUND:        http.StatusNotFound,
	platform.ECONFLICT:        http.StatusConflict,
	platform.EPRICECHANGED:    http.StatusUnprocessableEntity,
	platform.EMARKETSUSPENDED: http.StatusUnprocessableEntity,
	platform.EFUNDS:           http.StatusUnprocessableEntity,
	platform.ELIMIT:           http.StatusUnprocessableEntity,
	platform.EBETCLOSED:       http.StatusUnprocessableEntity,
	platform.EUNAVAILABLE:     http.StatusServiceUnavailable,
	platform.EINTERNAL:        http.StatusInternalServerError,
}

// ErrorStatus returns the HTTP status for an error code.
func ErrorStatus(code string) int {
	if s, ok := statuses[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// HealthCheck is one dependency GET /healthz or GET /readyz checks. Ping
// returns nil when it is fine; a *platform.Error's message says why not.
type HealthCheck struct {
	Name string
	Ping func(ctx context.Context) error
}

// BetObserver is told the outcome of every POST /v1/bets (the metrics).
type BetObserver interface {
	// ObserveBet records one bet request. outcome is accepted (booked now),
	// pending (waiting out its in-play delay: decided later), repeated (a
	// resend of a booked or pending bet), rejected (any code but
	// EINTERNAL) or failed (EINTERNAL); code is the error code, "" unless
	// rejected or failed; took is how long the platform took to answer.
	ObserveBet(outcome, code string, took time.Duration)
}

// CashoutObserver is told the outcome of every POST /v1/bets/{id}/cashout:
// an optional ability of a Config's Observer.
type CashoutObserver interface {
	// ObserveCashout records one cash-out request, with the outcomes and
	// codes of BetObserver.
	ObserveCashout(outcome, code string)
}

// The outcomes BetObserver is told.
const (
	BetAccepted = "accepted"
	BetPending  = "pending"
	BetRepeated = "repeated"
	BetRejected = "rejected"
	BetFailed   = "failed"
)

// Config configures a Server. Bets and Accounts are required.
type Config struct {
	Bets     platform.BetService
	Accounts platform.AccountService
	Logger   *slog.Logger  // nil = discard
	Health   []HealthCheck // GET /healthz: the stores
	// Ready are what GET /readyz needs before it answers 200: the stores
	// and the feed.
	Ready []HealthCheck
	// Quotes serves GET /v1/quotes/stream (a QuoteStream); nil = 404.
	Quotes http.Handler
	// Metrics serves GET /metrics; nil = 404.
	Metrics http.Handler
	// Observer is told of every bet request, and of every cash-out
	// request when it is a CashoutObserver too; nil = none.
	Observer BetObserver
	// Cashouts serves POST /v1/bets/{id}/cashout; nil = Bets when it is a
	// platform.CashoutService too, else the route answers 404.
	Cashouts platform.CashoutService
}

// Server routes the API to the platform's services.
type Server struct {
	bets     platform.BetService
	cashouts platform.CashoutService
	accounts platform.AccountService
	checks   []HealthCheck
	ready    []HealthCheck
	observer BetObserver
	cashObs  CashoutObserver
	log      *slog.Logger
	mux      *http.ServeMux
}

// NewServer returns the API on the given services, with checks for
// GET /healthz and GET /readyz. logger may be nil.
func NewServer(bets platform.BetService, accounts platform.AccountService, logger *slog.Logger, checks ...HealthCheck) *Server {
	return New(Config{Bets: bets, Accounts: accounts, Logger: logger, Health: checks, Ready: checks})
}

// New returns the API as cfg says.
func New(cfg Config) *Server {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{bets: cfg.Bets, accounts: cfg.Accounts, checks: cfg.Health, ready: cfg.Ready, observer: cfg.Observer,
		log: logger, mux: http.NewServeMux()}
	s.mux.HandleFunc("POST /v1/accounts/{account}/deposits", s.transfer(platform.Deposit))
	s.mux.HandleFunc("POST /v1/accounts/{account}/withdrawals", s.transfer(platform.Withdraw))
	s.mux.HandleFunc("GET /v1/accounts/{account}", s.getAccount)
	s.mux.HandleFunc("POST /v1/bets", s.placeBet)
	s.mux.HandleFunc("GET /v1/bets/{id}", s.getBet)
	if s.cashouts = cfg.Cashouts; s.cashouts == nil {
		s.cashouts, _ = cfg.Bets.(platform.CashoutService)
	}
	s.cashObs, _ = cfg.Observer.(CashoutObserver)
	if s.cashouts != nil {
		s.mux.HandleFunc("POST /v1/bets/{id}/cashout", s.cashout)
	}
	s.mux.HandleFunc("GET /healthz", s.health)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	if cfg.Quotes != nil {
		s.mux.Handle("GET /v1/quotes/stream", cfg.Quotes)
	}
	if cfg.Metrics != nil {
		s.mux.Handle("GET /metrics", cfg.Metrics)
	}
	// Anything else is answered in the API's error shape too.
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, platform.Errorf(platform.ENOTFOUND, "no route %s %s", r.Method, r.URL.Path))
	})
	return s
}

// ServeHTTP implements http.Handler. Every request gets an id (see
// RequestID), echoed in X-Request-Id and carried by every log line it
// produces. A panic in a handler is answered as EINTERNAL instead of a
// dropped connection.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get(RequestIDHeader)
	if !saneRequestID(id) {
		id = newRequestID()
	}
	w.Header().Set(RequestIDHeader, id)
	r = r.WithContext(context.WithValue(r.Context(), requestKey{}, requestInfo{id: id, log: s.log.With("request_id", id)}))
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.fail(w, r, fmt.Errorf("panic: %v", v))
		}
	}()
	s.mux.ServeHTTP(w, r)
}

// errorBody is the shape of every error answer.
type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := platform.ErrorCode(err)
	if code == platform.EINTERNAL {
		// The caller gets a generic message; the cause goes to the log.
		s.logger(r.Context()).Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, ErrorStatus(code), errorBody{Code: code, Message: platform.ErrorMessage(err)})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// decode reads exactly one JSON value into v, refusing unknown fields and
// bodies over MaxBodyBytes.
func decode(r io.Reader, v any) error {
	data, err := io.ReadAll(io.LimitReader(r, MaxBodyBytes+1))
	if err != nil {
		return platform.Errorf(platform.EINVALID, "body could not be read: %v", err)
	}
	if len(data) > MaxBodyBytes {
		return platform.Errorf(platform.EINVALID, "body is larger than %d bytes", MaxBodyBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return platform.Errorf(platform.EINVALID, "body is empty")
		}
		return platform.Errorf(platform.EINVALID, "body is not valid: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return platform.Errorf(platform.EINVALID, "body must hold exactly one JSON value")
	}
	return nil
}

// missing builds the EINVALID error for required fields that are absent.
func missing(fields []string) error {
	if len(fields) == 0 {
		return nil
	}
	return platform.Errorf(platform.EINVALID, "body is missing %s", strings.Join(fields, ", "))
}

// betBody is POST /v1/bets. Pointers tell a missing field from a zero one.
type betBody struct {
	ID        *string `json:"id"`
	Account   *string `json:"account"`
	Market    *string `json:"market"`
	Selection *string `json:"selection"`
	Odds      *string `json:"odds"`
	Stake     *int64  `json:"stake"`
	Policy    *string `json:"policy"` // optional: platform.DefaultPolicy when absent
}

// decodeBet decodes and validates a bet request body.
func decodeBet(r io.Reader) (platform.BetRequest, error) {
	var b betBody
	if err := decode(r, &b); err != nil {
		return platform.BetRequest{}, err
	}
	var absent []string
	for _, f := range []struct {
		name string
		set  bool
	}{{"id", b.ID != nil}, {"account", b.Account != nil}, {"market", b.Market != nil},
		{"selection", b.Selection != nil}, {"odds", b.Odds != nil}, {"stake", b.Stake != nil}} {
		if !f.set {
			absent = append(absent, f.name)
		}
	}
	if err := missing(absent); err != nil {
		return platform.BetRequest{}, err
	}
	odds, err := platform.ParseOdds(*b.Odds)
	if err != nil {
		return platform.BetRequest{}, err
	}
	req := platform.BetRequest{ID: *b.ID, Account: *b.Account, Market: *b.Market, Selection: *b.Selection,
		Stake: *b.Stake, Odds: odds}
	if b.Policy != nil {
		if *b.Policy == "" {
			return platform.BetRequest{}, platform.Errorf(platform.EINVALID, "policy is empty: give exact, better or any, or leave it out for %s", platform.DefaultPolicy)
		}
		req.Policy = platform.PricePolicy(*b.Policy)
	}
	if err := req.Validate(); err != nil {
		return platform.BetRequest{}, err
	}
	return req, nil
}

// moneyBody is the body of POST /v1/accounts/{account}/deposits and
// /withdrawals, and of POST /v1/bets/{id}/cashout: an idempotency id and
// an amount.
type moneyBody struct {
	ID     *string `json:"id"`
	Amount *int64  `json:"amount"`
}

// decodeMoney decodes a moneyBody, naming every missing field.
func decodeMoney(r io.Reader) (id string, amount int64, err error) {
	var b moneyBody
	if err := decode(r, &b); err != nil {
		return "", 0, err
	}
	var absent []string
	if b.ID == nil {
		absent = append(absent, "id")
	}
	if b.Amount == nil {
		absent = append(absent, "amount")
	}
	if err := missing(absent); err != nil {
		return "", 0, err
	}
	return *b.ID, *b.Amount, nil
}

func decodeTransfer(r io.Reader, account string) (platform.TransferRequest, error) {
	id, amount, err := decodeMoney(r)
	if err != nil {
		return platform.TransferRequest{}, err
	}
	req := platform.TransferRequest{ID: id, Account: account, Amount: amount}
	if err := req.Validate(); err != nil {
		return platform.TransferRequest{}, err
	}
	return req, nil
}

// decodeCashout decodes and validates a cash-out request body for bet.
func decodeCashout(r io.Reader, bet string) (platform.CashoutRequest, error) {
	id, amount, err := decodeMoney(r)
	if err != nil {
		return platform.CashoutRequest{}, err
	}
	req := platform.CashoutRequest{ID: id, Bet: bet, Amount: amount}
	if err := req.Validate(); err != nil {
		return platform.CashoutRequest{}, err
	}
	return req, nil
}

// cashoutJSON is a cash-out as the API shows it: the cash-out and its bet
// as it is after it.
type cashoutJSON struct {
	ID        string    `json:"id"`
	Amount    int64     `json:"amount"`
	CreatedAt time.Time `json:"created_at"`
	Bet       betJSON   `json:"bet"`
}

func (s *Server) cashout(w http.ResponseWriter, r *http.Request) {
	bet, c, created, err := s.cashoutBody(r.Context(), http.MaxBytesReader(w, r.Body, MaxBodyBytes+1), r.PathValue("id"))
	if s.cashObs != nil {
		s.cashObs.ObserveCashout(outcomeOf(created, err))
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, createdStatus(created), cashoutJSON{ID: c.ID, Amount: c.Amount, CreatedAt: c.CreatedAt.UTC(), Bet: toBetJSON(bet)})
}

func (s *Server) cashoutBody(ctx context.Context, body io.Reader, bet string) (*platform.Bet, *platform.Cashout, bool, error) {
	req, err := decodeCashout(body, bet)
	if err != nil {
		return nil, nil, false, err
	}
	return s.cashouts.Cashout(ctx, req)
}

// outcomeOf is the outcome and code an observer is told of a request that
// created something (or repeated it) or failed with err.
func outcomeOf(created bool, err error) (outcome, code string) {
	outcome, code = BetAccepted, platform.ErrorCode(err)
	switch {
	case code == platform.EINTERNAL:
		outcome = BetFailed
	case code != "":
		outcome = BetRejected
	case !created:
		outcome = BetRepeated
	}
	return outcome, code
}

// betJSON is a bet as the API shows it.
type betJSON struct {
	ID            string         `json:"id"`
	Account       string         `json:"account"`
	Market        string         `json:"market"`
	Selection     string         `json:"selection"`
	Stake         int64          `json:"stake"`
	RequestedOdds platform.Odds  `json:"requested_odds"`
	Odds          *platform.Odds `json:"odds"` // null until the bet is booked
	Policy        string         `json:"policy"`
	Status        string         `json:"status"`
	Payout        int64          `json:"payout"`
	PlacedAt      time.Time      `json:"placed_at"`
	SettledAt     *time.Time     `json:"settled_at"`
	// A pending bet: how long until its delay ends; a rejected one: why.
	DecideInMS *int64 `json:"decide_in_ms,omitempty"`
	Code       string `json:"code,omitempty"`
	Message    string `json:"message,omitempty"`
}

func toBetJSON(b *platform.Bet) betJSON {
	j := betJSON{ID: b.ID, Account: b.Account, Market: b.Market, Selection: b.Selection, Stake: b.Stake,
		RequestedOdds: b.RequestedOdds, Odds: bookedOdds(b), Policy: string(b.Policy.OrDefault()), Status: string(b.Status), Payout: b.Payout,
		PlacedAt: b.PlacedAt.UTC(), SettledAt: utc(b.SettledAt)}
	switch b.Status {
	case platform.BetPending:
		ms := max(time.Until(b.DecideAt), 0).Milliseconds()
		j.DecideInMS = &ms
	case platform.BetRejected:
		j.Code, j.Message = platform.ErrorCode(b.Rejection), platform.ErrorMessage(b.Rejection)
	}
	return j
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func createdStatus(created bool) int {
	if created {
		return http.StatusCreated
	}
	return http.StatusOK // a replay of a request that already took effect
}

func (s *Server) placeBet(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	bet, created, err := s.placeBetBody(r.Context(), http.MaxBytesReader(w, r.Body, MaxBodyBytes+1))
	if err == nil && bet.Status == platform.BetRejected {
		// A resend of a bet its delay refused: the same refusal.
		err, created = bet.Rejection, false
	}
	if s.observer != nil {
		outcome, code := outcomeOf(created, err)
		if code == "" && created && bet.Status == platform.BetPending {
			outcome = BetPending
		}
		s.observer.ObserveBet(outcome, code, time.Since(start))
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	status := createdStatus(created)
	if bet.Status == platform.BetPending {
		// Accepted for a decision, not yet decided: GET /v1/bets/{id}
		// follows it (docs/api.md, "Pending bets").
		status = http.StatusAccepted
		w.Header().Set("Location", "/v1/bets/"+url.PathEscape(bet.ID))
	}
	writeJSON(w, status, toBetJSON(bet))
}

func (s *Server) placeBetBody(ctx context.Context, body io.Reader) (*platform.Bet, bool, error) {
	req, err := decodeBet(body)
	if err != nil {
		return nil, false, err
	}
	return s.bets.PlaceBet(ctx, req)
}

func (s *Server) getBet(w http.ResponseWriter, r *http.Request) {
	bet, err := s.bets.FindBet(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toBetJSON(bet))
}

// transferJSON is a deposit or withdrawal as the API shows it.
type transferJSON struct {
	ID      string `json:"id"`
	Account string `json:"account"`
	Amount  int64  `json:"amount"`
	Balance int64  `json:"balance"`
}

func (s *Server) transfer(kind platform.TransferKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		do := s.accounts.Deposit
		if kind == platform.Withdraw {
			do = s.accounts.Withdraw
		}
		req, err := decodeTransfer(http.MaxBytesReader(w, r.Body, MaxBodyBytes+1), r.PathValue("account"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		t, created, err := do(r.Context(), req)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, createdStatus(created), transferJSON{ID: t.ID, Account: t.Account, Amount: t.Amount, Balance: t.Balance})
	}
}

func (s *Server) getAccount(w http.ResponseWriter, r *http.Request) {
	a, err := s.accounts.FindAccount(r.Context(), r.PathValue("account"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Account string `json:"account"`
		Balance int64  `json:"balance"`
	}{a.ID, a.Balance})
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	var down []string
	for _, c := range s.checks {
		if err := c.Ping(ctx); err != nil {
			s.logger(r.Context()).Warn("health check failed", "check", c.Name, "err", err)
			down = append(down, c.Name)
		}
	}
	if len(down) > 0 {
		writeJSON(w, ErrorStatus(platform.EINTERNAL), errorBody{Code: platform.EINTERNAL,
			Message: strings.Join(down, ", ") + " not answering"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 only when every readiness check passes, else 503
// EUNAVAILABLE naming each one that does not and why.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	var down []string
	for _, c := range s.ready {
		err := c.Ping(ctx)
		if err == nil {
			continue
		}
		why := "not answering"
		if platform.ErrorCode(err) != platform.EINTERNAL {
			why = platform.ErrorMessage(err)
		}
		s.logger(r.Context()).Debug("not ready", "check", c.Name, "err", err)
		down = append(down, c.Name+" "+why)
	}
	if len(down) > 0 {
		writeJSON(w, ErrorStatus(platform.EUNAVAILABLE), errorBody{Code: platform.EUNAVAILABLE,
			Message: "not ready: " + strings.Join(down, "; ")})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// bookedOdds is a booked bet's accepted odds; nil for a pending or rejected
// one, which has none.
func bookedOdds(b *platform.Bet) *platform.Odds {
	if b.Status == platform.BetPending || b.Status == platform.BetRejected {
		return nil
	}
	o := b.Odds
	return &o
}
