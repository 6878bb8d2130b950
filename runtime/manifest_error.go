package runtime

import (
	"errors"
	"fmt"
)

// ErrInvalidManifest matches every *ManifestError with errors.Is.
var ErrInvalidManifest = errors.New("invalid manifest")

// ManifestError is a manifest refused by ParseManifest or Validate: one line naming
// the file, the line, the field, the bad value and what is allowed.
type ManifestError struct {
	// File is the base name of the manifest ("jcloud.yml"); empty for Validate.
	File string
	// Line is the 1-based line of the offending value; 0 when unknown (Validate).
	Line int
	// Field is the dotted path of the offending field ("autoscale.min"); empty for
	// errors about the whole file, such as YAML syntax errors.
	Field string
	// Msg is the human text after "file:line: ", starting with the field name.
	Msg string
}

// Error returns e.g. `jcloud.yml:1: instance "C9" is not an instance type (C1..C8)`.
func (e *ManifestError) Error() string {
	switch {
	case e.File != "" && e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	case e.File != "":
		return e.File + ": " + e.Msg
	default:
		return e.Msg
	}
}

// Is reports whether target is ErrInvalidManifest.
func (e *ManifestError) Is(target error) bool { return target == ErrInvalidManifest }
