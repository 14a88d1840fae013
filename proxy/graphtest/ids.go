package graphtest

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
)

// idSource draws identifiers and delays from a seeded PCG generator so that
// the same sequence of requests yields the same ids and delays.
type idSource struct {
	mu sync.Mutex // guards r: handlers run concurrently
	r  *rand.Rand
}

func newIDSource(seed int64, stream uint64) *idSource {
	return &idSource{r: rand.New(rand.NewPCG(uint64(seed), stream))}
}

// guid returns a version 4 GUID in the dashed lower-case form.
func (s *idSource) guid() string {
	var b [16]byte
	s.mu.Lock()
	for i := 0; i < 16; i += 8 {
		v := s.r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	s.mu.Unlock()
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// digits returns n decimal digits.
func (s *idSource) digits(n int) string {
	var sb strings.Builder
	s.mu.Lock()
	for range n {
		sb.WriteByte(byte('0' + s.r.IntN(10)))
	}
	s.mu.Unlock()
	return sb.String()
}

// between returns a duration drawn uniformly from [lo, hi].
func (s *idSource) between(lo, hi time.Duration) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return lo + time.Duration(s.r.Int64N(int64(hi-lo)+1))
}

// canonicalID reduces a GUID in any form (dashed or not, any case, braced) to
// 32 lower-case hex digits, the key under which calls and operations are kept.
func canonicalID(s string) string {
	s = strings.Trim(s, "{}")
	s = strings.ReplaceAll(s, "-", "")
	return strings.ToLower(s)
}

// undashedUpper renders a GUID as 32 upper-case hex digits, the form of the
// deprecated /app/calls API ("57DAB8B1894C409AB240BD8BEAE78896").
func undashedUpper(s string) string {
	return strings.ToUpper(canonicalID(s))
}

// dashedUpper renders a GUID dashed in upper case ("8A34A46B-3D17-...").
func dashedUpper(s string) string {
	return strings.ToUpper(dashed(s))
}

// dashed renders a GUID in the dashed lower-case form.
func dashed(s string) string {
	c := canonicalID(s)
	if len(c) != 32 {
		return s
	}
	return fmt.Sprintf("%s-%s-%s-%s-%s", c[0:8], c[8:12], c[12:16], c[16:20], c[20:32])
}

// lastSegment returns what follows the last slash ("/app/calls/X" -> "X").
func lastSegment(s string) string {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[i+1:]
	}
	return s
}
