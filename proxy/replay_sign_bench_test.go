package proxy_test

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/proxy"
)

// BenchmarkSign measures what signing costs a notification, with its
// latency percentiles: "reused" is the replay case (the claims of a session
// repeat, a token is reused and re-signed in the background), "fresh" signs
// every time (new claims each call). Baselines from the same run: a bare
// RSA-2048 PKCS#1 v1.5 signature for "fresh", encoding/json of the claims
// for "reused", reported as ratios.
func BenchmarkSign(b *testing.B) {
	s := newSigner(b)
	key := readKey(b, s.Path())
	ev := &cassette.Event{Kind: cassette.KindNotification, Bearer: recordedBearer()}
	tok := proxy.TokenRequest{Tenant: signTenant, ClientID: signApp, AppID: signApp}

	b.Run("reused", func(b *testing.B) {
		if _, err := s.Sign(ev, tok); err != nil { // the session's first notification signs
			b.Fatal(err)
		}
		base := baseline(b, func() {
			if _, err := json.Marshal(ev.Bearer.Claims); err != nil {
				b.Fatal(err)
			}
		})
		lat := make([]time.Duration, 0, b.N)
		for b.Loop() {
			t0 := time.Now()
			if _, err := s.Sign(ev, tok); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		report(b, lat, base, "x-json")
	})
	b.Run("fresh", func(b *testing.B) {
		sum := sha256.Sum256([]byte("claims"))
		base := baseline(b, func() {
			if _, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:]); err != nil {
				b.Fatal(err)
			}
		})
		lat := make([]time.Duration, 0, b.N)
		i := 0
		for b.Loop() {
			i++
			t := tok
			t.AppID = "app-" + strconv.Itoa(i) // new claims: no token to reuse
			t0 := time.Now()
			if _, err := s.Sign(ev, t); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		report(b, lat, base, "x-rsa")
	})
}

// baseline returns the median time of fn over a few runs, outside the timer.
func baseline(b *testing.B, fn func()) time.Duration {
	b.Helper()
	b.StopTimer()
	defer b.StartTimer()
	var ds []time.Duration
	for range 50 {
		t0 := time.Now()
		fn()
		ds = append(ds, time.Since(t0))
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// report adds p50 and p99 latency and the ratio of the median to base.
func report(b *testing.B, lat []time.Duration, base time.Duration, unit string) {
	b.Helper()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	p := func(q float64) time.Duration { return lat[min(len(lat)-1, int(q*float64(len(lat))))] }
	b.ReportMetric(float64(p(0.50).Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(p(0.99).Nanoseconds()), "p99-ns")
	if base > 0 {
		b.ReportMetric(float64(p(0.50))/float64(base), unit)
	}
}
