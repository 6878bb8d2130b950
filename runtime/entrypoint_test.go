package runtime

import (
	"errors"
	"testing"
)

func TestParseEntrypoint(t *testing.T) {
	tests := []struct {
		in           string
		module, attr string
		wantErr      bool
	}{
		{in: "app:app", module: "app", attr: "app"},
		{in: "main:api", module: "main", attr: "api"},
		{in: "pkg.sub.mod:application", module: "pkg.sub.mod", attr: "application"},
		{in: "_private:_x9", module: "_private", attr: "_x9"},
		{in: "café:app", module: "café", attr: "app"},
		{in: "app", wantErr: true},
		{in: "", wantErr: true},
		{in: ":app", wantErr: true},
		{in: "app:", wantErr: true},
		{in: "app.py:app", wantErr: true},
		{in: "my-app:app", wantErr: true},
		{in: "1app:app", wantErr: true},
		{in: "pkg..mod:app", wantErr: true},
		{in: ".mod:app", wantErr: true},
		{in: "app:app:app", wantErr: true},
		{in: "app:create_app()", wantErr: true},
		{in: "app:app.router", wantErr: true},
		{in: "app: app", wantErr: true},
	}
	for _, tt := range tests {
		module, attr, err := ParseEntrypoint(tt.in)
		if tt.wantErr {
			if err == nil || !errors.Is(err, ErrBadEntrypoint) {
				t.Errorf("ParseEntrypoint(%q) = %q, %q, %v; want ErrBadEntrypoint", tt.in, module, attr, err)
			}
			continue
		}
		if err != nil || module != tt.module || attr != tt.attr {
			t.Errorf("ParseEntrypoint(%q) = %q, %q, %v; want %q, %q", tt.in, module, attr, err, tt.module, tt.attr)
		}
	}
}
