package export

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"
)

// yamlStream writes header as "# " comment lines, then each doc as YAML, separated by "---".
// A document's top-level status is left out: it is the cluster's to fill in.
func yamlStream(header []string, docs []any) ([]byte, error) {
	var b bytes.Buffer
	for _, h := range header {
		for _, line := range strings.Split(h, "\n") {
			b.WriteString(strings.TrimRight("# "+line, " "))
			b.WriteByte('\n')
		}
	}
	for i, d := range docs {
		if i > 0 {
			b.WriteString("---\n")
		}
		y, err := marshalWithoutStatus(d)
		if err != nil {
			return nil, fmt.Errorf("marshal document %d: %w", i+1, err)
		}
		b.Write(y)
	}
	return b.Bytes(), nil
}

// marshalWithoutStatus marshals d to YAML through its JSON form, dropping the top-level "status" key.
func marshalWithoutStatus(d any) ([]byte, error) {
	j, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(j, &fields); err != nil {
		return nil, err
	}
	delete(fields, "status")
	j, err = json.Marshal(fields)
	if err != nil {
		return nil, err
	}
	return yaml.JSONToYAML(j)
}
