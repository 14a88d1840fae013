package graphtest

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// odataJSON is the Content-Type Graph puts on JSON answers.
const odataJSON = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

// agsDiagnostic is a plausible x-ms-ags-diagnostic header value.
const agsDiagnostic = `{"ServerInfo":{"DataCenter":"West US 2","Slice":"E","Ring":"1","ScaleUnit":"000","RoleInstance":"MW2PEPF00001A2B"}}`

func newGzipReader(r io.Reader) (*gzip.Reader, error) { return gzip.NewReader(r) }

// acceptsGzip reports whether an Accept-Encoding header lists gzip with a
// non-zero quality.
func acceptsGzip(h http.Header) bool {
	for _, v := range h.Values("Accept-Encoding") {
		for part := range strings.SplitSeq(v, ",") {
			name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
				continue
			}
			if q, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
				if f, err := strconv.ParseFloat(q, 64); err == nil && f == 0 {
					return false
				}
			}
			return true
		}
	}
	return false
}

// gzipBytes compresses b.
func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b) // writes to a bytes.Buffer cannot fail
	zw.Close()
	return buf.Bytes()
}

// graphHeaders sets the headers every Graph answer carries and returns the
// request id.
func (g *Graph) graphHeaders(w http.ResponseWriter, r *http.Request) string {
	return graphHeadersID(w, r, g.ids.guid())
}

// graphHeadersID is graphHeaders with request id reqID.
func graphHeadersID(w http.ResponseWriter, r *http.Request, reqID string) string {
	h := w.Header()
	h.Set("request-id", reqID)
	crid := r.Header.Get("client-request-id")
	if crid == "" {
		crid = reqID
	}
	h.Set("client-request-id", crid)
	h.Set("x-ms-ags-diagnostic", agsDiagnostic)
	h.Set("Strict-Transport-Security", "max-age=31536000")
	h.Set("Cache-Control", "no-cache")
	h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	return reqID
}

// write sends body with status, gzip-compressed when the client accepts it.
func write(w http.ResponseWriter, r *http.Request, status int, contentType string, body []byte) {
	h := w.Header()
	if len(body) > 0 {
		h.Set("Content-Type", contentType)
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header) {
			body = gzipBytes(body)
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// graphError answers with Graph's error envelope.
func (g *Graph) graphError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	g.graphErrorID(w, r, status, code, message, g.graphHeaders(w, r))
}

// graphErrorID is graphError with headers already set and request id reqID.
func (g *Graph) graphErrorID(w http.ResponseWriter, r *http.Request, status int, code, message, reqID string) {
	body := mustJSON(obj{
		{"error", obj{
			{"code", code},
			{"message", message},
			{"innerError", obj{
				{"date", time.Now().UTC().Format("2006-01-02T15:04:05")},
				{"request-id", reqID},
				{"client-request-id", w.Header().Get("client-request-id")},
			}},
		}},
	})
	write(w, r, status, odataJSON, body)
}

// serve runs srv on ln in a goroutine counted by wg, logging (as what) any
// error but the one Close and Shutdown cause.
func serve(wg *sync.WaitGroup, srv *http.Server, ln net.Listener, log *slog.Logger, what string) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error(what, "err", err)
		}
	}()
}

// stop undoes serve: Shutdown lets handlers in flight finish (they never
// block long), Close is the fallback for a client that stalls mid-request.
// It then waits for wg and closes the idle connections of own, the
// transport the double made for itself (nil when it was given a client).
func stop(wg *sync.WaitGroup, srv *http.Server, own *http.Transport) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		srv.Close()
	}
	wg.Wait()
	if own != nil {
		own.CloseIdleConnections()
	}
}

// mustStart is what the New* constructors add to their Start*: like
// httptest.NewServer, they panic when the double cannot start.
func mustStart[T any](v T, err error) T {
	if err != nil {
		panic("graphtest: " + err.Error())
	}
	return v
}
