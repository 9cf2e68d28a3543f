//go:build !race

package pagetoken

const raceEnabled = false
