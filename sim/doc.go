// Package sim will be the deterministic network simulator of netstages
// (issue 8): a Network of named hosts joined by links whose every direction
// is a chain of fault stages — latency and jitter, loss (Bernoulli and
// Gilbert-Elliott), duplication, reordering, corruption, a rate with a
// bounded queue, an MTU, and scheduled partitions — each an actors stage, so
// links draw themselves like protocol pipelines do.
//
// Hosts will implement transport.Network: datagrams directly, streams
// through a reliable transport (stop-and-wait, Go-Back-N, Selective Repeat)
// in a package of its own, so every protocol runs over the simulator
// unchanged. Every random decision will come from a PRNG seeded by (seed,
// link, direction) and drawn in that direction's packet order, and the sim
// will block only on channels and timers, so tests run inside
// testing/synctest bubbles with exact, fake time.
//
// Until then, transport/mem gives an in-process network without faults.
// Imports: sim may import transport and actors, never protocols.
package sim
