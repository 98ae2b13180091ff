//go:build race

package rdt_test

// raceEnabled shrinks the property test's workloads under the race
// detector, which slows the simulation about tenfold.
const raceEnabled = true
