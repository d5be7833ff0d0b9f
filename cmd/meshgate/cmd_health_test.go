package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHealth(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
			w.Write([]byte("ok"))
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		default:
			http.Error(w, "shard loop stuck", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()

	// A port nobody listens on: bind one, remember it, close it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String() + "/healthz"
	l.Close()

	tests := []struct {
		name      string
		args      []string
		code      int
		stdout    string
		stderrHas string
	}{
		{name: "2xx is healthy", args: []string{"-url", srv.URL + "/healthz"}, code: 0, stdout: "health: ok: " + srv.URL + "/healthz: 200 OK\n"},
		{name: "quiet", args: []string{"-q", "-url", srv.URL + "/healthz"}, code: 0},
		{name: "503 is unhealthy", args: []string{"-url", srv.URL + "/readyz"}, code: 1, stderrHas: "503 Service Unavailable: shard loop stuck"},
		{name: "refused is unhealthy", args: []string{"-url", closed}, code: 1, stderrHas: "connection refused"},
		{name: "timeout is unhealthy", args: []string{"-timeout", "200ms", "-url", srv.URL + "/slow"}, code: 1, stderrHas: "deadline exceeded"},
		{name: "bad flag", args: []string{"-nope"}, code: 2},
		{name: "extra args", args: []string{"x"}, code: 2, stderrHas: "unexpected arguments"},
		{name: "zero timeout", args: []string{"-timeout", "0s"}, code: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runHealth(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.code, stderr.String())
			}
			if stdout.String() != tt.stdout {
				t.Errorf("stdout %q, want %q", stdout.String(), tt.stdout)
			}
			if !strings.Contains(stderr.String(), tt.stderrHas) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tt.stderrHas)
			}
		})
	}
}

func TestHealthRegistered(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"health", "-h"}, &stdout, &stderr); code != 0 && code != 2 {
		t.Fatalf("health -h exit %d", code)
	}
	if !strings.Contains(stderr.String(), "-url") {
		t.Fatalf("health -h did not print its flags: %s", stderr.String())
	}
}
