package odcs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/meshgate/meshgate/rules"
)

// Importing this package registers both files of an ODCS contract with rules.Load:
// *.odcs.yaml documents and their *.meshgate.yaml bindings.
func init() {
	rules.RegisterFormat(DocumentSuffix, parseDocumentFile)
	rules.RegisterFormat(BindingSuffix, parseBindingFile)
}

// maxDocumentBytes bounds a document read through a binding (rules.Load bounds the files
// it lists itself).
const maxDocumentBytes = 16 << 20

// parseDocumentFile is the rules format parser of *.odcs.yaml. A document some binding in
// its directory names is parsed by that binding; a document on its own is a contract with
// the defaults the document gives.
func parseDocumentFile(file string, data []byte) (*rules.Spec, rules.ErrorList) {
	if claimed(file) {
		return nil, nil
	}
	doc, err := Decode(file, data)
	if err != nil {
		return nil, toErrorList(err, file)
	}
	c, err := Build(doc, nil)
	if err != nil {
		return nil, toErrorList(err, file)
	}
	return c.Spec, nil
}

// parseBindingFile is the rules format parser of *.meshgate.yaml.
func parseBindingFile(file string, data []byte) (*rules.Spec, rules.ErrorList) {
	c, docData, err := loadBound(file, data)
	if err != nil {
		return nil, toErrorList(err, file)
	}
	c.Spec.Includes = map[string][]byte{file: data, c.Doc.File: docData}
	return c.Spec, nil
}

// LoadBinding reads a binding file and the document it names, and maps them.
func LoadBinding(file string) (*Contract, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read binding: %w", err)
	}
	c, _, err := loadBound(file, data)
	return c, err
}

func loadBound(file string, data []byte) (*Contract, []byte, error) {
	b, err := DecodeBinding(file, data)
	if err != nil {
		return nil, nil, err
	}
	docFile, err := documentFor(b)
	if err != nil {
		return nil, nil, Problems{{File: file, Pos: Pos{1, 1}, Msg: err.Error()}}
	}
	at := Pos{1, 1}
	if b.ODCS.Pos.Line > 0 {
		at = Pos{b.ODCS.Pos.Line, b.ODCS.Pos.Col}
	}
	fi, err := os.Stat(docFile)
	if err == nil && fi.Size() > maxDocumentBytes {
		err = fmt.Errorf("larger than %d bytes", maxDocumentBytes)
	}
	var docData []byte
	if err == nil {
		docData, err = os.ReadFile(docFile)
	}
	if err != nil {
		shown := b.ODCS.Value
		if shown == "" {
			shown = filepath.Base(docFile)
		}
		if errors.Is(err, os.ErrNotExist) {
			err = os.ErrNotExist
		}
		return nil, nil, Problems{{File: file, Pos: at, Msg: fmt.Sprintf("ODCS document %s: %v", shown, err)}}
	}
	doc, err := Decode(docFile, docData)
	if err != nil {
		return nil, nil, err
	}
	c, err := Build(doc, b)
	if err != nil {
		return nil, nil, err
	}
	return c, docData, nil
}

// claimed reports whether a binding in the document's directory names it.
func claimed(doc string) bool {
	if bindingFor(doc) != "" {
		return true
	}
	bs, _ := filepath.Glob(filepath.Join(filepath.Dir(doc), "*"+BindingSuffix))
	abs, err := filepath.Abs(doc)
	if err != nil {
		return false
	}
	for _, bf := range bs {
		data, err := os.ReadFile(bf)
		if err != nil {
			continue
		}
		b, err := DecodeBinding(bf, data)
		if err != nil || b.ODCS.Value == "" {
			continue
		}
		target, err := documentFor(b)
		if err != nil {
			continue
		}
		if t, err := filepath.Abs(target); err == nil && t == abs {
			return true
		}
	}
	return false
}

// toErrorList converts problems to the rules engine's errors.
func toErrorList(err error, file string) rules.ErrorList {
	var ps Problems
	if !errors.As(err, &ps) {
		return rules.ErrorList{{File: file, Line: 1, Col: 1, Msg: err.Error()}}
	}
	out := make(rules.ErrorList, 0, len(ps))
	for _, p := range ps {
		out = append(out, &rules.Error{File: p.File, Line: p.Line, Col: p.Col, Msg: p.Msg})
	}
	return out
}

// FromSet returns the ODCS contracts of a loaded set (active and shadow), mapped again
// from their files to recover what the rules engine does not keep (the aggregates).
func FromSet(set *rules.Set) ([]*Contract, error) {
	var out []*Contract
	for _, rc := range append(append([]*rules.Contract{}, set.Contracts()...), set.Shadows()...) {
		if rc.Spec.Format != "odcs" {
			continue
		}
		var (
			c   *Contract
			err error
		)
		if b := bindingOf(rc.Spec); b != "" {
			c, err = LoadBinding(b)
		} else {
			var doc *Document
			if doc, err = LoadFile(rc.Spec.File); err == nil {
				c, err = Build(doc, nil)
			}
		}
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// bindingOf returns the binding file a spec was read through, or "".
func bindingOf(sp *rules.Spec) string {
	for f := range sp.Includes {
		if strings.HasSuffix(f, BindingSuffix) {
			return f
		}
	}
	return ""
}
