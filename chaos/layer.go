package chaos

import (
	"context"
	"errors"
	"fmt"
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
	links  map[string]string // link name → listen address
	closed bool
}

// linkName is what a link (and its toxiproxy proxy) may be called: the names
// go into the API's URL paths.
var linkName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// NewLayer starts toxiproxy's API on a new 127.0.0.1 port and checks that it
// answers. ctx bounds the start only; Close stops the layer.
func NewLayer(ctx context.Context) (*Layer, error) {
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, errorf(EINTERNAL, "chaos: cannot listen for the toxiproxy API: %v", err)
	}
	l := &Layer{
		server: &http.Server{Handler: srv.Routes(), ReadHeaderTimeout: 5 * time.Second},
		served: make(chan error, 1),
		api:    "http://" + ln.Addr().String(),
		links:  make(map[string]string),
	}
	l.client = toxiclient.NewClient(l.api)
	l.client.UserAgent = "inplay-chaos"
	go func() { l.served <- l.server.Serve(ln) }()
	if _, err := l.client.Version(); err != nil {
		l.server.Close()
		return nil, errorf(EINTERNAL, "chaos: the embedded toxiproxy API does not answer: %v", err)
	}
	return l, nil
}

// APIURL is the toxiproxy API's base URL, e.g. http://127.0.0.1:41234, for
// tools that want to look at the links while a run goes on.
func (l *Layer) APIURL() string {
	return l.api
}

// Link puts a proxy named name on 127.0.0.1:0 in front of upstream
// (host:port) and returns the address it listens on, which the caller hands
// to whatever used to dial upstream. name is the target (redis, postgres,
// api, feed, stream); faults name it.
func (l *Layer) Link(name, upstream string) (listen string, err error) {
	if !linkName.MatchString(name) {
		return "", errorf(EINVALID, "chaos: link name %q must be lower case letters, digits, - or _, starting with a letter", name)
	}
	if _, _, err := net.SplitHostPort(upstream); err != nil {
		return "", errorf(EINVALID, "chaos: link %s: upstream %q is not host:port: %v", name, upstream, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return "", errorf(EINVALID, "chaos: link %s: the layer is closed", name)
	}
	if _, dup := l.links[name]; dup {
		return "", errorf(ECONFLICT, "chaos: link %s exists already", name)
	}
	l.apiMu.Lock()
	p, err := l.client.CreateProxy(name, "127.0.0.1:0", upstream)
	l.apiMu.Unlock()
	if err != nil {
		return "", errorf(EINTERNAL, "chaos: link %s → %s: %v", name, upstream, err)
	}
	l.links[name] = p.Listen
	return p.Listen, nil
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

// listen returns the listen address of the link name.
func (l *Layer) listen(name string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	addr, ok := l.links[name]
	return addr, ok
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

// Close deletes every link, which closes its listener and its connections,
// then stops the API. It is safe to call twice.
func (l *Layer) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	names := make([]string, 0, len(l.links))
	for n := range l.links {
		names = append(names, n)
	}
	l.mu.Unlock()

	var errs []error
	for _, n := range names {
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
