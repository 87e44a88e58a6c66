package chaos

import (
	"fmt"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
)

func init() {
	RegisterKind("down", func() Kind { return &Down{} })
}

// Down takes a link down: toxiproxy disables the proxy, which closes its
// listener and every open connection, so new connections are refused until
// the fault heals. It takes no params.
type Down struct{}

// Configure reads no params; any param given is reported as unknown.
func (k *Down) Configure(p *Params) {}

// Inject disables the proxy.
func (k *Down) Inject(proxy *toxiclient.Proxy, name string) error {
	return proxy.Disable()
}

// Heal enables the proxy again, on the same listen address.
func (k *Down) Heal(proxy *toxiclient.Proxy, name string) error {
	return proxy.Enable()
}

// InPlace reports whether the API shows the proxy disabled.
func (k *Down) InPlace(proxy *toxiclient.Proxy, name string) (bool, string, error) {
	return !proxy.Enabled, fmt.Sprintf("proxy %s enabled=%v", proxy.Name, proxy.Enabled), nil
}

// Judge: a new connection must fail during the fault.
func (k *Down) Judge(before, during ProbeResult) (Effect, string) {
	return failedOrStalled(before, during, false)
}

// exclusive: two overlapping down faults on one link would bring it back up
// when the first heals.
func (k *Down) exclusive() {}

// disablesLink: the link's front refuses the platform's connections too.
func (k *Down) disablesLink() {}

// String describes the fault.
func (k *Down) String() string {
	return "down: proxy disabled"
}
