package scheduler

import (
	"time"

	"github.com/fnrun/fnrun/runtime"
)

// App is the desired state of one deployed app, as kept in the store.
type App struct {
	// ID is "<name>-<10 hex>", a DNS label; it is also the router host label.
	ID string `json:"id"`
	// Name is the human name the ID was made from.
	Name string `json:"name"`
	// Revision counts deploys of this app, starting at 1.
	Revision int `json:"revision"`
	// Entrypoint is the MODULE:ATTR given at deploy ("" when detected or command:).
	Entrypoint string `json:"entrypoint,omitempty"`
	// ManifestFile is the manifest's file name ("" when defaults were used).
	ManifestFile string `json:"manifest_file,omitempty"`
	// Manifest is the validated manifest with defaults applied.
	Manifest runtime.Manifest `json:"manifest"`
	// Command is the detected command line and environment of every replica.
	Command runtime.Command `json:"command"`
	// GID is the app's own group: its code is readable by that group only, and its replicas run
	// with it, so no app can read another's code.
	GID uint32 `json:"gid,omitempty"`
	// CodeDir is the immutable directory of this revision's code.
	CodeDir string `json:"code_dir"`
	// CreatedAt is when the app was first deployed; UpdatedAt when this revision was.
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// RevisionName is the K_REVISION suffix of revision n, e.g. "00001".
func RevisionName(n int) string {
	const digits = "0123456789"
	b := []byte("00000")
	for i := len(b) - 1; i >= 0 && n > 0; i-- {
		b[i] = digits[n%10]
		n /= 10
	}
	return string(b)
}
