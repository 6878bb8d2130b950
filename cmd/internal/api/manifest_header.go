package api

import "encoding/base64"

func encodeManifest(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// DecodeManifest decodes the HeaderManifest value.
func DecodeManifest(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }
