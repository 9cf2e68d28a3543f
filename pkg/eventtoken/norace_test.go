//go:build !race

package eventtoken

const raceEnabled = false
