package chaos

import (
	"context"
	"fmt"

	"github.com/inplaylabs/inplay/internal/herr"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
)

func init() {
	RegisterKind("down", func(p *Params) Kind { return &Down{} })
}

// Down takes a link down: toxiproxy disables the proxy, which closes its
// listener and every open connection, so new connections are refused until
// the fault heals. It takes no params; any param given is reported as
// unknown.
type Down struct{}

// Inject disables the target's link (see injectLink).
func (k *Down) Inject(ctx context.Context, env Env, f Fault) (Injection, error) {
	return onLink(ctx, env, f, k)
}

// checkTarget: down acts on a link.
func (k *Down) checkTarget(target string, r Reach) *herr.Error {
	return linkTarget("down", target, r)
}

// apply disables the proxy.
func (k *Down) apply(proxy *toxiclient.Proxy, name string) error {
	return proxy.Disable()
}

// remove enables the proxy again, on the same listen address.
func (k *Down) remove(proxy *toxiclient.Proxy, name string) error {
	return proxy.Enable()
}

// inPlace reports whether the API shows the proxy disabled.
func (k *Down) inPlace(proxy *toxiclient.Proxy, name string) (bool, string, error) {
	return !proxy.Enabled, fmt.Sprintf("proxy %s enabled=%v", proxy.Name, proxy.Enabled), nil
}

// judge: a new connection must fail during the fault.
func (k *Down) judge(before, during ProbeResult) (Effect, string) {
	return failedOrStalled(before, during, false)
}

// exclusionGroup: two overlapping down faults on one link would bring it
// back up when the first heals.
func (k *Down) exclusionGroup() string { return "down" }

// disablesLink: the link's front refuses the platform's connections too.
func (k *Down) disablesLink() {}

// String describes the fault.
func (k *Down) String() string {
	return "down: proxy disabled"
}
