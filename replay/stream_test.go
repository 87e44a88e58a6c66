package replay

import (
	"bytes"
	"strings"
	"testing"
)

func TestCaptureWriterMatchesWriteCapture(t *testing.T) {
	c := &Capture{
		Header: Header{Capture: CaptureVersion, Name: "s", DurationUS: 10},
		Events: []Event{
			{T: 1, Kind: KindOdds, Market: "m", Prices: map[string]string{"b": "2", "a": "3"}, Producer: "live"},
			{T: 2, Kind: KindBet, Account: "x", ID: "<1>", Market: "m", Selection: "a", Odds: "3", Stake: 5, Policy: PolicyAny},
		},
	}
	var want, got bytes.Buffer
	if err := WriteCapture(&want, c); err != nil {
		t.Fatal(err)
	}
	w, err := NewCaptureWriter(&got, c.Header)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Copy(c.Stream()); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Fatalf("stream writer wrote\n%s\nWriteCapture wrote\n%s", got.String(), want.String())
	}
	back, err := ReadCapture(&got)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Collect(back.Stream())
	if err != nil || len(again.Events) != 2 || again.Events[1].Policy != PolicyAny {
		t.Fatalf("Collect = %+v, %v", again, err)
	}
}

func TestCaptureWriterRefusesBadEvents(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewCaptureWriter(&buf, Header{Capture: CaptureVersion})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(Event{T: 5, Kind: KindStatus, Market: "m", Status: StatusOpen}); err != nil {
		t.Fatal(err)
	}
	err = w.Write(Event{T: 4, Kind: KindStatus, Market: "m", Status: StatusClosed})
	if err == nil || !strings.Contains(err.Error(), "line 3: t_us 4 goes backwards") {
		t.Fatalf("backwards event: %v", err)
	}
	err = w.Write(Event{T: 6, Kind: KindStatus, Market: "m", Status: "paused"})
	if err == nil || !strings.Contains(err.Error(), `line 3: unknown status "paused"`) {
		t.Fatalf("bad status: %v", err)
	}
	if _, err := NewCaptureWriter(&buf, Header{Capture: "inplay/v9"}); err == nil {
		t.Fatal("a bad header was accepted")
	}
	if err := w.Flush(); err != nil || w.Events() != 1 || strings.Count(buf.String(), "\n") != 2 {
		t.Fatalf("wrote %d events, %q, %v", w.Events(), buf.String(), err)
	}
}
