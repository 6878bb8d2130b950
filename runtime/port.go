package runtime

import (
	"strconv"
	"strings"
)

// ExpandPort returns a copy of args with "$PORT" and "${PORT}" replaced by port.
// "$PORTS" or "$PORT_X" are other variables and stay as they are.
func ExpandPort(args []string, port int) []string {
	p := strconv.Itoa(port)
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = expandPort(a, p)
	}
	return out
}

func expandPort(s, port string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		rest := s[i:]
		switch {
		case strings.HasPrefix(rest, "${PORT}"):
			b.WriteString(port)
			i += len("${PORT}")
		case strings.HasPrefix(rest, "$PORT") && (len(rest) == len("$PORT") || !isNameByte(rest[len("$PORT")])):
			b.WriteString(port)
			i += len("$PORT")
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String()
}

func isNameByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
