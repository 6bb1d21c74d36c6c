//go:build race

package bus_test

// raceDetector is true when the tests run with -race.
const raceDetector = true
