package proxy

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

func TestAdminHandler(t *testing.T) {
	var ready atomic.Bool
	report := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	a := &adminHandler{mode: "record", ready: &ready, routes: map[string]http.Handler{adminPrefix + "report": report}}
	tests := []struct {
		name   string
		remote string
		method string
		path   string
		ready  bool
		want   int
	}{
		{"health before ready", "127.0.0.1:5000", "GET", "/__graphvcr/health", false, http.StatusServiceUnavailable},
		{"health ready", "127.0.0.1:5000", "GET", "/__graphvcr/health", true, http.StatusOK},
		{"health from ::1", "[::1]:5000", "GET", "/__graphvcr/health", true, http.StatusOK},
		{"health from elsewhere", "192.0.2.7:5000", "GET", "/__graphvcr/health", true, http.StatusForbidden},
		{"health POST", "127.0.0.1:5000", "POST", "/__graphvcr/health", true, http.StatusMethodNotAllowed},
		{"extra route", "127.0.0.1:5000", "GET", "/__graphvcr/report", true, http.StatusTeapot},
		{"extra route from elsewhere", "198.51.100.1:5000", "GET", "/__graphvcr/report", true, http.StatusForbidden},
		{"unknown", "127.0.0.1:5000", "GET", "/__graphvcr/nope", true, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ready.Store(tt.ready)
			req := httptest.NewRequest(tt.method, tt.path, nil)
			req.RemoteAddr = tt.remote
			rec := httptest.NewRecorder()
			a.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Errorf("status %d, want %d", rec.Code, tt.want)
			}
		})
	}
}

func TestIsLoopbackAddr(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:8080", true},
		{"[::1]:0", true},
		{"localhost:8080", true},
		{"LOCALHOST:8080", true},
		{"LocalHost", true},
		{"localhost.example:8080", false},
		{":8080", false},
		{"0.0.0.0:8080", false},
		{"192.0.2.1:8080", false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if got := IsLoopbackAddr(tt.addr); got != tt.want {
				t.Errorf("IsLoopbackAddr(%q) = %v", tt.addr, got)
			}
		})
	}
}
