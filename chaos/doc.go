// Package chaos injects faults into the hops of a run and proves that each
// one landed.
//
// A Layer embeds toxiproxy in-process and puts one proxy, a link, on every hop
// (platform → redis, platform → postgres, harness → api, platform → feed,
// harness → stream). A scenario's faults are validated with ValidateFaults and
// run on the replay clock with Layer.Schedule. Each fault kind is one small
// type registered by name (RegisterKind); each target can have a protocol
// probe registered by name (RegisterProber).
//
// A fault counts as landed only on two independent proofs: the toxiproxy API,
// read back after the injection, shows it in place, and a probe on a new
// connection through the link shows its effect compared with a baseline
// taken just before. Toxiproxy decides a toxic's toxicity once per
// connection, which is why every probe opens a new one.
//
// Each link also counts the platform's own bytes through it: the platform
// dials a counting relay in front of the proxy, the probes dial the proxy.
// Every record reports that traffic during the fault, and for the kinds whose
// effect no probe can show (bandwidth, slicer, limit_data, slow_close) it
// replaces the probe as the second proof: the toxic was in place and the
// platform's traffic went through it.
//
// chaos never imports the platform: it meets a platform only over the network.
package chaos
