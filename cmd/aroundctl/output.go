package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"gopkg.in/yaml.v3"
)

// protoJSONLine is how one message is written as a JSON line (export).
var protoJSONLine = protojson.MarshalOptions{UseProtoNames: true}

// marshalLine returns m as one line of compact protojson with the proto
// field names, without the newline. protojson's own compact output varies
// its whitespace on purpose; json.Compact makes it stable.
func marshalLine(m proto.Message) ([]byte, error) {
	b, err := protoJSONLine.Marshal(m)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// jsonToYAML re-encodes a JSON document as block-style YAML, keeping the
// order of the keys (so a message keeps its proto field order). Strings stay
// strings: "123" (an int64 in protojson) is quoted in the YAML.
func jsonToYAML(j []byte) ([]byte, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(j, &n); err != nil {
		return nil, fmt.Errorf("converting to YAML: %w", err)
	}
	var plain func(*yaml.Node)
	plain = func(n *yaml.Node) {
		n.Style = 0
		for _, c := range n.Content {
			plain(c)
		}
	}
	plain(&n)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, fmt.Errorf("converting to YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("converting to YAML: %w", err)
	}
	return b.Bytes(), nil
}

// printMessage writes m to stdout as -o json (multiline protojson with the
// proto field names) or -o yaml (the same, re-encoded as YAML).
// show prints m as -o asks: the message for json and yaml, or what table
// writes for the table. It returns the exit status.
func (e *env) show(m proto.Message, table func(io.Writer)) int {
	if e.g.output != outputTable {
		if err := e.printMessage(m); err != nil {
			return e.fail(err.Error())
		}
		return 0
	}
	table(e.stdout)
	return 0
}

func (e *env) printMessage(m proto.Message) error {
	b, err := protoJSON.Marshal(m)
	if err != nil {
		return err
	}
	return e.printJSON(b)
}

// printJSON writes a JSON document to stdout as -o json or -o yaml.
func (e *env) printJSON(b []byte) error {
	if e.g.output == outputYAML {
		y, err := jsonToYAML(b)
		if err != nil {
			return err
		}
		_, err = e.stdout.Write(y)
		return err
	}
	_, err := fmt.Fprintf(e.stdout, "%s\n", b)
	return err
}
