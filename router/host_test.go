package router

import (
	"strings"
	"testing"
)

func TestParseHost(t *testing.T) {
	tests := []struct {
		host, domain string
		want         string
		ok           bool
	}{
		{"hello.localhost", "localhost", "hello", true},
		{"hello.localhost:8080", "localhost", "hello", true},
		{"Hello.LocalHost:80", "localhost", "hello", true},
		{"hello.localhost.", "localhost", "hello", true},
		{"hello.localhost.:8080", "", "hello", true},
		{"a-b-1.apps.example.com", "apps.example.com", "a-b-1", true},
		{"a-b-1.APPS.example.com", "Apps.Example.Com.", "a-b-1", true},
		{"x.localhost", "", "x", true},
		{strings.Repeat("a", 63) + ".localhost", "localhost", strings.Repeat("a", 63), true},
		{strings.Repeat("a", 64) + ".localhost", "localhost", "", false},
		{"localhost", "localhost", "", false},
		{".localhost", "localhost", "", false},
		{"a.b.localhost", "localhost", "", false},
		{"-a.localhost", "localhost", "", false},
		{"a-.localhost", "localhost", "", false},
		{"a_b.localhost", "localhost", "", false},
		{"hello.localhost:", "localhost", "", false},
		{"hello.localhost:99999x", "localhost", "", false},
		{"hello.localhost:123456", "localhost", "", false},
		{"hello.localhostx", "localhost", "", false},
		{"hello.example.com", "localhost", "", false},
		{"hellolocalhost", "localhost", "", false},
		{"[::1]:8080", "localhost", "", false},
		{"127.0.0.1:8080", "localhost", "", false},
		{"", "localhost", "", false},
		{"héllo.localhost", "localhost", "", false},
	}
	for _, tt := range tests {
		got, ok := ParseHost(tt.host, tt.domain)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseHost(%q, %q) = %q, %v; want %q, %v", tt.host, tt.domain, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzParseHost(f *testing.F) {
	for _, seed := range []struct{ host, domain string }{
		{"hello.localhost", "localhost"},
		{"Hello.LOCALHOST:8080", "localhost"},
		{"a.b.localhost", "localhost"},
		{"x.apps.example.com.", "apps.example.com"},
		{"-x.localhost:1", ""},
		{"[::1]:80", "localhost"},
		{"hello.localhost:", "localhost"},
		{strings.Repeat("z", 64) + ".localhost", "localhost"},
	} {
		f.Add(seed.host, seed.domain)
	}
	f.Fuzz(func(t *testing.T, host, domain string) {
		id, ok := ParseHost(host, domain)
		// The allocation-free []byte path used on the hot path must agree with ParseHost.
		label, bok := hostLabel([]byte(host), normDomain(domain))
		if ok != bok || (ok && strings.ToLower(string(label)) != id) {
			t.Fatalf("ParseHost(%q, %q) = %q, %v but hostLabel = %q, %v", host, domain, id, ok, label, bok)
		}
		if !ok {
			if id != "" {
				t.Fatalf("ParseHost(%q, %q) = %q with ok=false", host, domain, id)
			}
			return
		}
		if !isDNSLabel(id) || strings.ToLower(id) != id {
			t.Fatalf("ParseHost(%q, %q) = %q: not a lower-case DNS label", host, domain, id)
		}
		d := normDomain(domain)
		bare := strings.ToLower(host)
		if i := strings.LastIndexByte(bare, ':'); i >= 0 && validPort(bare[i+1:]) {
			bare = bare[:i]
		}
		bare = strings.TrimSuffix(bare, ".")
		if bare != id+"."+d {
			t.Fatalf("ParseHost(%q, %q) = %q, but the host without port is %q, not %q", host, domain, id, bare, id+"."+d)
		}
		if again, ok := ParseHost(id+"."+d, domain); !ok || again != id {
			t.Fatalf("round trip of %q: got %q, %v", id, again, ok)
		}
	})
}
