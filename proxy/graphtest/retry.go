package graphtest

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Retry bounds how the sample bot retries a request Graph did not serve.
// Zero fields take the defaults given.
type Retry struct {
	// MaxTries is how many times one request is sent in all, the first
	// included. 0 means 4 (the Graph SDKs retry 3 times by default).
	MaxTries int
	// Base is the wait before the first retry when Graph gives no
	// Retry-After; each further retry waits twice the one before. 0 means
	// 250ms.
	Base time.Duration
	// Cap bounds each backoff wait. 0 means 8s. A Retry-After is honoured
	// as given, whatever Cap says: waiting less is what throttling punishes.
	Cap time.Duration
}

// retryAfter says whether the try-th answer (status and header, or err)
// is worth another try, and after how long. A naive bot never retries.
func (b *Bot) retryAfter(try, status int, h http.Header, err error) (time.Duration, bool) {
	if b.opts.Naive {
		return 0, false
	}
	r := b.opts.Retry
	if r.MaxTries <= 0 {
		r.MaxTries = 4
	}
	if r.Base <= 0 {
		r.Base = 250 * time.Millisecond
	}
	if r.Cap <= 0 {
		r.Cap = 8 * time.Second
	}
	if try >= r.MaxTries {
		return 0, false
	}
	switch {
	case err != nil:
		if !connectionLost(err) {
			return 0, false
		}
	case status == http.StatusTooManyRequests, status == http.StatusServiceUnavailable, status == http.StatusGatewayTimeout:
		if d, ok := parseRetryAfter(h.Get("Retry-After"), time.Now()); ok {
			return d, true
		}
	default:
		return 0, false
	}
	d := r.Base << (try - 1)
	if d > r.Cap || d <= 0 { // d <= 0: the shift overflowed
		d = r.Cap
	}
	return d, true
}

// connectionLost reports a transport error that a retry may cure: the
// connection was reset or closed before an answer came. A refused
// connection or a timeout is not one: nothing answers, or the client gave
// up on its own deadline.
func connectionLost(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	// net/http and HTTP/2 report some of these in words only.
	msg := err.Error()
	for _, s := range []string{"connection reset", "stream error", "server closed idle connection", "transport connection broken"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// parseRetryAfter reads a Retry-After: seconds, as Graph sends it, or an
// HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// sleepCtx waits d unless ctx ends first. A wait that would end after ctx's
// deadline fails at once: the retry could not be sent anyway.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return context.DeadlineExceeded
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
