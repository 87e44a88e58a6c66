package record

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// BenchmarkRecordOverhead measures what recording adds to a request: b.N
// bets sent one at a time, alternately straight to a loopback upstream and
// through a recorder (Run, writing a real file) in front of it, in the
// same run, so both see the same machine. It reports the p99 latency of
// each and the p99 the recorder adds (the bar: at most 1 ms), and a bare
// httputil.ReverseProxy's p99 beside them, so what the extra hop costs
// and what recording costs are told apart.
//
//	go test -run '^$' -bench RecordOverhead -benchtime 20000x ./replay/record/
func BenchmarkRecordOverhead(b *testing.B) {
	upstream := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"id":"b","status":"accepted"}`)
	})}
	upLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go upstream.Serve(upLn)
	defer upstream.Close()

	recLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	f, err := os.Create(filepath.Join(b.TempDir(), "overhead.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan Summary, 1)
	go func() {
		s, err := Run(ctx, recLn, f, false, Config{Upstream: "http://" + upLn.Addr().String()})
		if err != nil {
			b.Error(err)
		}
		done <- s
	}()

	// A bare reverse proxy, recording nothing, tells the cost of the extra
	// loopback hop from the cost of recording.
	bareLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	upURL, _ := url.Parse("http://" + upLn.Addr().String())
	bare := &http.Server{Handler: &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(upURL) }}}
	go bare.Serve(bareLn)
	defer bare.Close()

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	direct := "http://" + upLn.Addr().String() + "/v1/bets"
	recorded := "http://" + recLn.Addr().String() + "/v1/bets"
	proxied := "http://" + bareLn.Addr().String() + "/v1/bets"
	send := func(url string, i int) time.Duration {
		body := fmt.Appendf(nil, `{"id":"b-%d","account":"a%d","market":"m1","selection":"home","odds":"2.10","stake":500}`, i, i%100)
		start := time.Now()
		resp, err := client.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		if resp.StatusCode != http.StatusCreated {
			b.Fatalf("%s: %d", url, resp.StatusCode)
		}
		return took
	}
	// Warm both paths' connections.
	for i := range 100 {
		send(direct, -i-1)
		send(recorded, -i-1)
		send(proxied, -i-1)
	}
	d := make([]time.Duration, 0, b.N)
	r := make([]time.Duration, 0, b.N)
	p := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		d = append(d, send(direct, i))
		r = append(r, send(recorded, i))
		p = append(p, send(proxied, i))
	}
	b.StopTimer()
	cancel()
	sum := <-done
	if want := int64(b.N + 100); sum.Events != want {
		b.Errorf("recorded %d bets, want %d", sum.Events, want)
	}
	pd, pr := p99(d), p99(r)
	b.ReportMetric(float64(pd.Microseconds()), "direct-p99-µs")
	b.ReportMetric(float64(pr.Microseconds()), "recorded-p99-µs")
	b.ReportMetric(float64((pr - pd).Microseconds()), "added-p99-µs")
	b.ReportMetric(float64((median(r) - median(d)).Microseconds()), "added-p50-µs")
	b.ReportMetric(float64(p99(p).Microseconds()), "bare-proxy-p99-µs")
	b.ReportMetric(float64((pr - p99(p)).Microseconds()), "recording-vs-bare-proxy-p99-µs")
}

func p99(d []time.Duration) time.Duration    { return quantile(d, 0.99) }
func median(d []time.Duration) time.Duration { return quantile(d, 0.5) }

func quantile(d []time.Duration, q float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}
