package router

import "strings"

// ParseHost extracts the app id from a Host header of the form "<app-id>.<domain>[:port]".
// Matching is case-insensitive and the id is returned in lower case; it must be a single DNS label
// (1–63 of [a-z0-9-], not starting or ending with '-'). An empty domain means "localhost".
func ParseHost(host, domain string) (appID string, ok bool) {
	label, ok := hostLabel(host, normDomain(domain))
	if !ok {
		return "", false
	}
	return strings.ToLower(label), true
}

func normDomain(d string) string {
	d = strings.TrimSuffix(strings.ToLower(d), ".")
	if d == "" {
		return DefaultDomain
	}
	return d
}

// hostLabel returns the (not yet lower-cased) app label of host; domain must be lower case.
// It is generic so the hot path can parse the request's []byte without allocating.
func hostLabel[T ~string | ~[]byte](host T, domain string) (T, bool) {
	var zero T
	for i := len(host) - 1; i >= 0; i-- {
		c := host[i]
		if c == ':' {
			if !validPort(host[i+1:]) {
				return zero, false
			}
			host = host[:i]
			break
		}
		if c < '0' || c > '9' {
			break
		}
	}
	if n := len(host); n > 0 && host[n-1] == '.' {
		host = host[:n-1]
	}
	n := len(host) - len(domain) - 1
	if n < 1 || host[n] != '.' || !equalFoldLower(host[n+1:], domain) {
		return zero, false
	}
	label := host[:n]
	if !isDNSLabel(label) {
		return zero, false
	}
	return label, true
}

func validPort[T ~string | ~[]byte](p T) bool {
	if len(p) == 0 || len(p) > 5 {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
	}
	return true
}

// equalFoldLower reports whether s equals lower (already lower case) ignoring ASCII case.
func equalFoldLower[T ~string | ~[]byte](s T, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if toLower(s[i]) != lower[i] {
			return false
		}
	}
	return true
}

func isDNSLabel[T ~string | ~[]byte](s T) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := toLower(s[i])
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

func toLower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}
