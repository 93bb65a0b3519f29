package main

import (
	"bufio"
	"encoding"
	"encoding/json"
	"io"
	"reflect"
	"strings"
)

// printJSON writes v as indented JSON and a newline, byte for byte what
// json.Encoder with SetIndent("", "  ") writes, without holding the whole
// text in memory: structs and slices are written a field and an element at
// a time, and only the leaves (maps, strings, numbers, types with their own
// marshalling) go through encoding/json. A `sync --json` report of 100,000
// accounts lists every planned write: encoded whole, it was a 190 MB text,
// 236 MB to build and 108 MB more to indent, the full sync's peak memory.
func printJSON(w io.Writer, v any) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := streamValue(bw, reflect.ValueOf(v), ""); err != nil {
		return err
	}
	if err := bw.WriteByte('\n'); err != nil {
		return err
	}
	return bw.Flush()
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

// streamValue writes v at an indentation of prefix (its first line is
// already indented by the caller).
func streamValue(w *bufio.Writer, v reflect.Value, prefix string) error {
	if !v.IsValid() {
		_, err := w.WriteString("null")
		return err
	}
	if ownMarshal(v.Type()) {
		return leaf(w, v, prefix)
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			_, err := w.WriteString("null")
			return err
		}
		return streamValue(w, v.Elem(), prefix)
	case reflect.Struct:
		fields, ok := streamFields(v.Type())
		if !ok {
			return leaf(w, v, prefix)
		}
		return streamStruct(w, v, fields, prefix)
	case reflect.Slice:
		if v.IsNil() {
			_, err := w.WriteString("null")
			return err
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return leaf(w, v, prefix) // []byte is base64
		}
		return streamList(w, v, prefix)
	case reflect.Array:
		return streamList(w, v, prefix)
	}
	return leaf(w, v, prefix)
}

// ownMarshal reports whether t (or *t) marshals itself.
func ownMarshal(t reflect.Type) bool {
	return t.Implements(jsonMarshaler) || t.Implements(textMarshaler) ||
		(t.Kind() != reflect.Pointer && (reflect.PointerTo(t).Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(textMarshaler)))
}

// leaf writes v with encoding/json.
func leaf(w *bufio.Writer, v reflect.Value, prefix string) error {
	if v.CanAddr() {
		v = v.Addr() // a pointer-receiver MarshalJSON, as encoding/json calls it on addressable values
	}
	b, err := json.MarshalIndent(v.Interface(), prefix, "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

func streamList(w *bufio.Writer, v reflect.Value, prefix string) error {
	if v.Len() == 0 {
		_, err := w.WriteString("[]")
		return err
	}
	inner := prefix + "  "
	w.WriteByte('[')
	for i := range v.Len() {
		if i > 0 {
			w.WriteByte(',')
		}
		w.WriteByte('\n')
		w.WriteString(inner)
		if err := streamValue(w, v.Index(i), inner); err != nil {
			return err
		}
	}
	w.WriteByte('\n')
	w.WriteString(prefix)
	return w.WriteByte(']')
}

// streamField is one struct field as encoding/json writes it.
type streamField struct {
	index     int
	name      string // the key, already quoted
	omitEmpty bool
	omitZero  bool
}

// streamFields lists t's fields as encoding/json writes them, in order;
// ok is false for a struct this writer leaves to encoding/json whole
// (embedded fields, the ",string" option).
func streamFields(t reflect.Type) (fields []streamField, ok bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			return nil, false
		}
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		sf := streamField{index: i}
		for o := range strings.SplitSeq(opts, ",") {
			switch o {
			case "omitempty":
				sf.omitEmpty = true
			case "omitzero":
				sf.omitZero = true
			case "string":
				return nil, false
			}
		}
		key, err := json.Marshal(name)
		if err != nil {
			return nil, false
		}
		sf.name = string(key)
		fields = append(fields, sf)
	}
	return fields, true
}

func streamStruct(w *bufio.Writer, v reflect.Value, fields []streamField, prefix string) error {
	inner := prefix + "  "
	n := 0
	for _, f := range fields {
		fv := v.Field(f.index)
		if (f.omitEmpty && emptyValue(fv)) || (f.omitZero && zeroValue(fv)) {
			continue
		}
		if n == 0 {
			w.WriteByte('{')
		} else {
			w.WriteByte(',')
		}
		n++
		w.WriteByte('\n')
		w.WriteString(inner)
		w.WriteString(f.name)
		w.WriteString(": ")
		if err := streamValue(w, fv, inner); err != nil {
			return err
		}
	}
	if n == 0 {
		_, err := w.WriteString("{}")
		return err
	}
	w.WriteByte('\n')
	w.WriteString(prefix)
	return w.WriteByte('}')
}

// emptyValue is encoding/json's omitempty test.
func emptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// zeroValue is encoding/json's omitzero test: an IsZero method, else the
// zero value.
func zeroValue(v reflect.Value) bool {
	if z, ok := v.Interface().(interface{ IsZero() bool }); ok {
		if v.Kind() == reflect.Pointer && v.IsNil() {
			return true
		}
		return z.IsZero()
	}
	return v.IsZero()
}
