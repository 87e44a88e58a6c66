package replay

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Feed message types of the reference feed protocol (docs/feed-protocol.md).
const (
	FeedOdds             = "odds"
	FeedStatus           = "status"
	FeedResult           = "result"
	FeedHeartbeat        = "heartbeat"
	FeedSnapshotComplete = "snapshot_complete"
)

// FeedTimeFormat is the layout of a feed message's ts: RFC 3339, UTC, with
// microseconds.
const FeedTimeFormat = "2006-01-02T15:04:05.000000Z07:00"

// FeedMessage is one message of the feed stream.
type FeedMessage struct {
	Seq      int64             `json:"seq"`
	Producer string            `json:"producer"`
	TS       string            `json:"ts"`
	Type     string            `json:"type"`
	Market   string            `json:"market,omitempty"`
	Prices   map[string]string `json:"prices,omitempty"`
	Status   string            `json:"status,omitempty"`
	Winners  *[]string         `json:"winners,omitempty"` // set on results: [] voids the market
}

// feedMessageFor is the stream message for a feed event.
func feedMessageFor(ev Event, seq int64, producer string, ts time.Time) FeedMessage {
	m := FeedMessage{Seq: seq, Producer: producer, TS: ts.UTC().Format(FeedTimeFormat), Type: string(ev.Kind), Market: ev.Market}
	switch ev.Kind {
	case KindOdds:
		m.Prices = ev.Prices
	case KindStatus:
		m.Status = ev.Status
	case KindResult:
		w := append([]string{}, ev.Winners...) // never nil, so a void result says []
		m.Winners = &w
	}
	return m
}

// ParseFeedMessage decodes one stream message as a client must: unknown
// fields are ignored (forward compatibility), an unknown type is returned
// as it is for the caller to skip, but a message that is not a JSON object,
// or lacks seq or type, is a protocol error.
func ParseFeedMessage(b []byte) (FeedMessage, error) {
	var raw struct {
		FeedMessage
		Seq  *int64  `json:"seq"`
		Type *string `json:"type"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return FeedMessage{}, fmt.Errorf("feed message: %w", err)
	}
	var errs []error
	if raw.Seq == nil {
		errs = append(errs, errors.New("feed message: no seq"))
	} else if *raw.Seq < 0 {
		errs = append(errs, fmt.Errorf("feed message: seq %d is negative", *raw.Seq))
	}
	if raw.Type == nil || *raw.Type == "" {
		errs = append(errs, errors.New("feed message: no type"))
	}
	if len(errs) > 0 {
		return FeedMessage{}, errors.Join(errs...)
	}
	m := raw.FeedMessage
	m.Seq, m.Type = *raw.Seq, *raw.Type
	return m, nil
}
