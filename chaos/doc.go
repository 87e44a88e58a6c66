// Package chaos injects faults into a run and proves that each one landed.
//
// A kind of fault is one small type in its own file, registered by name
// (RegisterKind) with the function that reads its params. Its one method,
// Kind.Inject, puts the fault in place through the run's Env and returns an
// Injection: how to prove it landed (Prove, Landed) and how to heal it
// (Heal). The kinds come in families that share their proof:
//
//   - network (network.go): every toxiproxy toxic and down, on a Layer's
//     link. A Layer embeds toxiproxy in-process and puts one proxy, a link,
//     on every hop (platform → redis, platform → postgres, harness → api,
//     platform → feed, harness → stream).
//   - process (process.go): kill, pause and restart of the system under
//     test, through Env.Processes.
//   - store (store.go): data_loss on the run's Redis keys and terminate on
//     its PostgreSQL backends, through Env.Stores.
//   - feed (feed.go): alterations of the feed stream, through Env.Feed.
//
// A plan is validated with ValidateFaults against what the run reaches
// (Env.Reach), drawn from a seed with RandomPlan, and run on the replay
// clock with Env.Schedule. Each fault's Record carries its Evidence.
//
// A network fault counts as landed only on two independent proofs: the
// toxiproxy API, read back after the injection, shows it in place, and a
// probe on a new connection through the link shows its effect compared with
// a baseline taken just before. Toxiproxy decides a toxic's toxicity once
// per connection, which is why every probe opens a new one. Each target can
// have a protocol probe registered by name (RegisterProber).
//
// Each link also counts the platform's own bytes through it: the platform
// dials a counting relay in front of the proxy, the probes dial the proxy.
// Every record reports that traffic during the fault, and for the kinds whose
// effect no probe can show (bandwidth, slicer, limit_data, slow_close) it
// replaces the probe as the second proof: the toxic was in place and the
// platform's traffic went through it.
//
// The other families are proved by what their control saw: a process gone
// and a new one ready, a state read back from /proc, keys flushed, backends
// ended, messages altered. A fault that cannot be confirmed did not land.
//
// chaos never imports the platform: it meets a platform only over the
// network and through the controls of control.go.
package chaos
