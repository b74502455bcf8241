package report

import (
	"bytes"
	"encoding/json"
	"io"
)

// JSONOptions configure WriteJSON.
type JSONOptions struct {
	// Compact writes the object on one line (for JSON Lines) instead of
	// indented by two spaces.
	Compact bool
}

// WriteJSON writes rep as one JSON object followed by a newline. The output
// depends only on rep: the same Report always gives the same bytes. HTML
// characters are not escaped. Nothing is written when rep cannot be
// encoded.
func WriteJSON(w io.Writer, rep *Report, opts JSONOptions) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if !opts.Compact {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(rep); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}
