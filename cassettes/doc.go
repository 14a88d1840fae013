// Package cassettes holds graphvcr's sample cassettes, one per scenario of
// the graphtest simulator (single-invite.bolt, full-call.bolt, ...), and the
// tests that keep them honest: each one scans clean and replays, strictly,
// to a sample bot presenting other identifiers.
//
// The cassettes are produced by graphvcr itself: the generator in ./gen
// records each scenario between graphtest's sample bot and its Graph
// simulator through a proxy.Recorder. Regenerate them with
//
//	go generate ./cassettes
//
// README.md in this directory says what each cassette holds.
package cassettes

//go:generate go run ./gen
