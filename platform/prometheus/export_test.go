package prometheus

import prom "github.com/prometheus/client_golang/prometheus"

// StoreErrors exposes a store's error counter to the tests.
func StoreErrors(m *Metrics, store string) prom.Counter { return m.storeErrors.WithLabelValues(store) }
