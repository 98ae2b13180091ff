//go:build !race

package rdt_test

const raceEnabled = false
