package runtime

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// ErrBadEntrypoint is returned for an entrypoint that is not MODULE:ATTR.
var ErrBadEntrypoint = errors.New("entrypoint is not MODULE:ATTR")

// ParseEntrypoint splits "pkg.module:attr" into a dotted Python module path and an
// identifier, as uvicorn expects them.
func ParseEntrypoint(s string) (module, attr string, err error) {
	module, attr, ok := strings.Cut(s, ":")
	if !ok {
		return "", "", fmt.Errorf("%w: %s has no ':' (e.g. app:app)", ErrBadEntrypoint, quoteValue(s))
	}
	if strings.HasSuffix(module, ".py") {
		return "", "", fmt.Errorf("%w: %s names a file; drop the .py (e.g. %s:%s)", ErrBadEntrypoint, quoteValue(s), strings.TrimSuffix(module, ".py"), attr)
	}
	for _, part := range strings.Split(module, ".") {
		if !isIdentifier(part) {
			return "", "", fmt.Errorf("%w: module %s in %s is not a dotted Python module name (e.g. app:app)", ErrBadEntrypoint, quoteValue(module), quoteValue(s))
		}
	}
	if !isIdentifier(attr) {
		return "", "", fmt.Errorf("%w: %s in %s is not a Python identifier (e.g. app:app)", ErrBadEntrypoint, quoteValue(attr), quoteValue(s))
	}
	return module, attr, nil
}

// isIdentifier reports whether s is a Python identifier (letters, digits and _,
// not starting with a digit; Unicode letters allowed as in Python 3).
func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_' || unicode.IsLetter(r):
		case i > 0 && unicode.IsDigit(r):
		default:
			return false
		}
	}
	return true
}
