package chaos

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Layer is the embedded toxiproxy and its links. Toxiproxy runs in-process
// on its own 127.0.0.1 port and is driven only through its client package,
// the same API an operator's own toxiproxy would expose.
//
// A link is a toxiproxy proxy with a counting relay in front of it: the
// platform dials the relay, which counts the platform's own bytes through
// the link; the probes dial the proxy directly, so they are not counted.
type Layer struct {
	server *http.Server
	served chan error // Serve's result, once it returns
	api    string
	client *toxiclient.Client
	seq    atomic.Int64 // makes toxic names unique in the layer

	// apiMu serialises the layer's API calls: toxiproxy 2.12 reads a proxy's
	// fields without its lock when it shows the proxy, so a read racing a
	// disable is a data race inside toxiproxy.
	apiMu sync.Mutex

	mu     sync.Mutex
	links  map[string]*link // by link name
	closed bool
}

// link is one hop's front (where the platform dials) and proxy (where the
// faults are and the probes dial).
type link struct {
	front *front
	proxy string // the toxiproxy proxy's listen address
}

var quietToxicsOnce sync.Once

// linkName is what a link (and its toxiproxy proxy) may be called: the names
// go into the API's URL paths.
var linkName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// NewLayer starts toxiproxy's API on a new 127.0.0.1 port and checks that it
// answers. ctx bounds the start only; Close stops the layer.
func NewLayer(ctx context.Context) (*Layer, error) {
	// Some of toxiproxy's toxics log through zerolog's global logger at
	// trace level, to stderr; the layer's own evidence says what happened.
	quietToxicsOnce.Do(func() { zerolog.SetGlobalLevel(zerolog.WarnLevel) })
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, envf("chaos: cannot listen for the toxiproxy API: %v", err)
	}
	l := &Layer{
		server: &http.Server{Handler: srv.Routes(), ReadHeaderTimeout: 5 * time.Second},
		served: make(chan error, 1),
		api:    "http://" + ln.Addr().String(),
		links:  make(map[string]*link),
	}
	l.client = toxiclient.NewClient(l.api)
	l.client.UserAgent = "inplay-chaos"
	go func() { l.served <- l.server.Serve(ln) }()
	if _, err := l.client.Version(); err != nil {
		l.server.Close()
		return nil, envf("chaos: the embedded toxiproxy API does not answer: %v", err)
	}
	return l, nil
}

// APIURL is the toxiproxy API's base URL, e.g. http://127.0.0.1:41234, for
// tools that want to look at the links while a run goes on.
func (l *Layer) APIURL() string {
	return l.api
}

// Link puts a proxy named name on 127.0.0.1:0 in front of upstream
// (host:port), and a counting relay in front of the proxy, and returns the
// relay's address, which the caller hands to whatever used to dial upstream.
// The toxiproxy API shows the proxy's own listen address, which the probes
// use. name is the target (redis, postgres, api, feed, stream); faults name
// it.
func (l *Layer) Link(name, upstream string) (listen string, err error) {
	if !linkName.MatchString(name) {
		return "", inputf("chaos: link name %q must be lower case letters, digits, - or _, starting with a letter", name)
	}
	if _, _, err := net.SplitHostPort(upstream); err != nil {
		return "", inputf("chaos: link %s: upstream %q is not host:port: %v", name, upstream, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return "", inputf("chaos: link %s: the layer is closed", name)
	}
	if _, dup := l.links[name]; dup {
		return "", inputf("chaos: link %s exists already", name)
	}
	l.apiMu.Lock()
	p, err := l.client.CreateProxy(name, "127.0.0.1:0", upstream)
	l.apiMu.Unlock()
	if err != nil {
		return "", envf("chaos: link %s → %s: %v", name, upstream, err)
	}
	f, err := newFront(p.Listen)
	if err != nil {
		l.apiMu.Lock()
		derr := p.Delete()
		l.apiMu.Unlock()
		return "", envf("chaos: link %s: cannot listen for the platform: %v", name, errors.Join(err, derr))
	}
	l.links[name] = &link{front: f, proxy: p.Listen}
	return f.addr, nil
}

// Traffic returns the bytes the platform has sent (upstream) and received
// (downstream) through the link name since it was made. Probes are not
// counted. A name that is not linked is an EINPUT error.
func (l *Layer) Traffic(name string) (upstream, downstream int64, err error) {
	k, ok := l.link(name)
	if !ok {
		return 0, 0, inputf("chaos: no link %s (linked: %s)", name, orNone(l.Links()))
	}
	upstream, downstream = k.front.traffic()
	return upstream, downstream, nil
}

// Links returns the names of the links, sorted, for ValidateFaults.
func (l *Layer) Links() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	names := make([]string, 0, len(l.links))
	for n := range l.links {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// link returns the link name.
func (l *Layer) link(name string) (*link, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k, ok := l.links[name]
	return k, ok
}

// Proxy reads the link name back from the toxiproxy API, with its toxics.
// Use it rather than a client of APIURL while faults run: the layer
// serialises its own API calls, because toxiproxy 2.12 races when a proxy
// is read while another request changes it.
func (l *Layer) Proxy(name string) (*toxiclient.Proxy, error) {
	l.apiMu.Lock()
	defer l.apiMu.Unlock()
	return l.client.Proxy(name)
}

// withProxy reads the link name back and runs do on it, holding the API
// for both, so no other call of the layer changes the proxy in between.
func (l *Layer) withProxy(name string, do func(*toxiclient.Proxy) error) error {
	l.apiMu.Lock()
	defer l.apiMu.Unlock()
	p, err := l.client.Proxy(name)
	if err != nil {
		return err
	}
	return do(p)
}

// Close deletes every link, which closes its listeners and its connections,
// then stops the API. It is safe to call twice.
func (l *Layer) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	links := maps.Clone(l.links)
	l.mu.Unlock()

	var errs []error
	for _, n := range slices.Sorted(maps.Keys(links)) {
		links[n].front.close()
		if err := l.withProxy(n, (*toxiclient.Proxy).Delete); err != nil {
			errs = append(errs, fmt.Errorf("chaos: delete link %s: %w", n, err))
		}
	}
	// Close, not Shutdown: the links are gone, so nothing the API still
	// holds matters, and Shutdown waits up to 5s on a client connection
	// that was dialled but never used.
	if err := l.server.Close(); err != nil {
		errs = append(errs, fmt.Errorf("chaos: stop the toxiproxy API: %w", err))
	}
	if err := <-l.served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		errs = append(errs, fmt.Errorf("chaos: toxiproxy API: %w", err))
	}
	return errors.Join(errs...)
}
