package chaos

// Hop is one network path of a run that gets a link (DESIGN.md, "One run,
// end to end", step 3): who dials, and what it reaches through the link.
type Hop struct {
	Name string // the link's name, which a fault's target names
	From string // who dials through the link: "platform" or "harness"
	To   string // what the link leads to
}

// Hops is the one table of the hops a run links, in the design's order.
// LinkTargets, the runner's links and the validation of a fault's target
// all come from it.
var Hops = []Hop{
	{Name: "redis", From: "platform", To: "Redis (hot state)"},
	{Name: "postgres", From: "platform", To: "PostgreSQL (ledger)"},
	{Name: "api", From: "harness", To: "the platform's bet API"},
	{Name: "feed", From: "platform", To: "the harness's feed server"},
	{Name: "stream", From: "harness", To: "the platform's quote stream"},
}

// LinkTargets are the names of Hops, in order.
var LinkTargets = func() []string {
	names := make([]string, len(Hops))
	for i, h := range Hops {
		names[i] = h.Name
	}
	return names
}()
