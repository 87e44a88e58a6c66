package reports

// postingsAppendOnly (DESIGN.md 9): postings are never updated or deleted.
// The event store records every change to the ledger's tables, and its
// hash chain proves the record unedited: the invariant holds when the
// chain verifies and no event UPDATEs or DELETEs a posting or a
// transaction (docs/event-store.md). CheckEventStore computes it.
func (b *books) postingsAppendOnly(c *check) {
	storeInvariant(b.opts.EventStore, c, func(s *EventStoreCheck) Invariant { return s.AppendOnly })
}

// eventStoreFolds (DESIGN.md 12): folding the event store gives back the
// ledger: every tracked table's rows, and every account's balance as the
// sum of its postings. CheckEventStore computes it.
func (b *books) eventStoreFolds(c *check) {
	storeInvariant(b.opts.EventStore, c, func(s *EventStoreCheck) Invariant { return s.Folds })
}

// storeInvariant copies an invariant CheckEventStore reached into c, or
// marks it not checked when there is no store.
func storeInvariant(s *EventStoreCheck, c *check, pick func(*EventStoreCheck) Invariant) {
	if s == nil {
		c.skip("no event store was read (a ledger export, or a platform that keeps none): re-check the kept run's database with inplay reconcile --postgres-url")
		return
	}
	inv := pick(s)
	if inv.Status == StatusNotChecked {
		c.skip(inv.Note)
		return
	}
	c.inv.Checked, c.inv.Violations, c.inv.Note = inv.Checked, inv.Violations, inv.Note
	c.inv.Witnesses = append(c.inv.Witnesses, inv.Witnesses...)
}
