package config

import (
	"encoding"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// goccy/go-yaml's decoder stops at the first error; this one walks the AST
// into Go values by reflection so that every unknown key and every value
// of the wrong type is reported at once, with its position. It is strict:
// keys are matched to `yaml` tags, and anything else is a problem. It also
// records where each key path sits in the file, so validation problems found
// later can be located.

// pos is a 1-based line and column (in characters).
type pos struct{ line, col int }

// located is where one key path sits in the file.
type located struct {
	key    pos  // the key's position (zero for list items and the root)
	value  pos  // the value's position
	scalar bool // the value is a scalar
}

type decoder struct {
	x        *expander
	where    map[string]located
	anchors  map[string]ast.Node
	problems []Problem
	// fromEnv is set when the last scalar read used the environment: such a
	// value is never quoted in a message (it may be a credential put under
	// the wrong key).
	fromEnv bool
	// literalSecrets locates the non-empty secrets written in the file
	// rather than referenced from the environment (config validate warns).
	literalSecrets []Problem
}

func newDecoder(x *expander) *decoder {
	return &decoder{x: x, where: map[string]located{}, anchors: map[string]ast.Node{}}
}

func (d *decoder) problem(p pos, path, format string, args ...any) {
	d.problems = append(d.problems, Problem{Line: p.line, Col: p.col, Path: path, Message: fmt.Sprintf(format, args...)})
}

func tokenPos(tk *token.Token) pos {
	if tk == nil || tk.Position == nil {
		return pos{1, 1}
	}
	return pos{tk.Position.Line, tk.Position.Column}
}

// nodePos is where a node starts: a block mapping starts at its first key.
func nodePos(n ast.Node) pos {
	if m, ok := n.(*ast.MappingNode); ok && !m.IsFlowStyle && len(m.Values) > 0 {
		return nodePos(m.Values[0].Key)
	}
	if mv, ok := n.(*ast.MappingValueNode); ok {
		return nodePos(mv.Key)
	}
	return tokenPos(n.GetToken())
}

// collectAnchors records every anchor so aliases resolve wherever they are.
func (d *decoder) collectAnchors(root ast.Node) {
	ast.Walk(anchorVisitor(d.anchors), root)
}

type anchorVisitor map[string]ast.Node

func (a anchorVisitor) Visit(n ast.Node) ast.Visitor {
	if an, ok := n.(*ast.AnchorNode); ok && an.Name != nil {
		a[an.Name.GetToken().Value] = an.Value
	}
	return a
}

// resolve strips anchors, tags and aliases; nil means "no value".
func (d *decoder) resolve(n ast.Node, path string) ast.Node {
	for depth := 0; n != nil && depth < 100; depth++ {
		switch t := n.(type) {
		case *ast.AnchorNode:
			n = t.Value
		case *ast.TagNode:
			n = t.Value
		case *ast.AliasNode:
			name := t.Value.GetToken().Value
			target, ok := d.anchors[name]
			if !ok {
				d.problem(nodePos(t), path, "unknown alias *%s", name)
				return nil
			}
			n = target
		case *ast.CommentGroupNode, *ast.CommentNode:
			return nil
		default:
			return n
		}
	}
	return n
}

func kindName(n ast.Node) string {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	default:
		return "a value"
	}
}

// entries lists a mapping's key/value pairs, with `<<` merge keys expanded
// in front (explicit keys win over merged ones).
func (d *decoder) entries(n ast.Node, path string) ([]*ast.MappingValueNode, bool) {
	var values []*ast.MappingValueNode
	switch m := n.(type) {
	case *ast.MappingNode:
		values = m.Values
	case *ast.MappingValueNode:
		values = []*ast.MappingValueNode{m}
	default:
		return nil, false
	}
	var merged, own []*ast.MappingValueNode
	for _, mv := range values {
		if _, ok := mv.Key.(*ast.MergeKeyNode); !ok {
			own = append(own, mv)
			continue
		}
		src := d.resolve(mv.Value, path)
		srcs := []ast.Node{src}
		if seq, ok := src.(*ast.SequenceNode); ok {
			srcs = seq.Values
		}
		for _, s := range srcs {
			es, ok := d.entries(d.resolve(s, path), path)
			if !ok {
				d.problem(nodePos(mv), path, "<< must merge a mapping or a list of mappings")
				continue
			}
			merged = append(merged, es...)
		}
	}
	if len(merged) == 0 {
		return own, true
	}
	explicit := map[string]bool{}
	for _, mv := range own {
		explicit[d.keyText(mv)] = true
	}
	var out []*ast.MappingValueNode
	seen := map[string]bool{}
	for _, mv := range merged {
		k := d.keyText(mv)
		if !explicit[k] && !seen[k] {
			out = append(out, mv)
			seen[k] = true
		}
	}
	return append(out, own...), true
}

func (d *decoder) keyText(mv *ast.MappingValueNode) string {
	var k ast.Node = mv.Key
	if mk, ok := k.(*ast.MappingKeyNode); ok {
		k = mk.Value
	}
	k = d.resolve(k, "")
	if k == nil {
		return ""
	}
	s, _ := rawScalar(k)
	return s
}

// rawScalar is a scalar's text before expansion.
func rawScalar(n ast.Node) (string, bool) {
	switch t := n.(type) {
	case *ast.StringNode:
		return t.Value, true
	case *ast.LiteralNode:
		return t.Value.Value, true
	case *ast.NullNode:
		return "", true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return t.GetToken().Value, true
	}
	return "", false
}

// scalar returns a scalar's text with references expanded.
func (d *decoder) scalar(n ast.Node, path string) (string, bool) {
	s, ok := rawScalar(n)
	if !ok {
		d.problem(nodePos(n), path, "expected a single value, not %s", kindName(n))
		return "", false
	}
	if hasRef(s) {
		d.fromEnv = true
	}
	p := nodePos(n)
	s, probs := d.x.expand(s, p.line, p.col)
	for _, pr := range probs {
		pr.Path = path
		d.problems = append(d.problems, pr)
	}
	return s, len(probs) == 0
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

// decode stores node n into v, recording positions under path.
func (d *decoder) decode(n ast.Node, v reflect.Value, path string) {
	n = d.resolve(n, path)
	if n == nil {
		return
	}
	if _, null := n.(*ast.NullNode); null {
		v.SetZero()
		return
	}
	if v.CanAddr() && v.Addr().Type().Implements(textUnmarshaler) {
		d.fromEnv = false
		s, ok := d.scalar(n, path)
		if !ok {
			return
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			msg := err.Error()
			if d.fromEnv {
				msg = "invalid value from the environment (not shown)"
			}
			d.problem(nodePos(n), path, "%s", msg)
		} else if v.Type() == secretType && !d.fromEnv && s != "" {
			p := nodePos(n)
			d.literalSecrets = append(d.literalSecrets, Problem{Line: p.line, Col: p.col, Path: path})
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), path)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Map:
		d.decodeMap(n, v, path)
	case reflect.Slice:
		seq, ok := n.(*ast.SequenceNode)
		if !ok {
			d.problem(nodePos(n), path, "expected a list, not %s", kindName(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(seq.Values), len(seq.Values))
		for i, item := range seq.Values {
			ip := fmt.Sprintf("%s[%d]", path, i)
			item = d.resolve(item, ip)
			if item == nil {
				continue
			}
			_, isScalar := rawScalar(item)
			d.where[ip] = located{value: nodePos(item), scalar: isScalar}
			d.decode(item, s.Index(i), ip)
		}
		v.Set(s)
	case reflect.Interface:
		if v.NumMethod() == 0 {
			if a, ok := d.anyValue(n, path); ok && a != nil {
				v.Set(reflect.ValueOf(a))
			}
			return
		}
		d.problem(nodePos(n), path, "cannot decode into %s", v.Type())
	default:
		d.fromEnv = false
		s, ok := d.scalar(n, path)
		if !ok {
			return
		}
		d.setScalar(n, s, v, path)
	}
}

func (d *decoder) setScalar(n ast.Node, s string, v reflect.Value, path string) {
	p := nodePos(n)
	q := strconv.Quote(s)
	if d.fromEnv {
		q = "a value from the environment (not shown)"
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		switch s {
		case "true", "True", "TRUE":
			v.SetBool(true)
		case "false", "False", "FALSE":
			v.SetBool(false)
		default:
			d.problem(p, path, "expected true or false, not %s", q)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(s, 0, 64)
		if err != nil {
			f, ferr := strconv.ParseFloat(s, 64)
			if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
				d.problem(p, path, "expected an integer, not %s", q)
				return
			}
			i = int64(f)
		}
		if v.OverflowInt(i) {
			d.problem(p, path, "%s is out of range", q)
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		u, err := strconv.ParseUint(s, 0, 64)
		if err != nil || v.OverflowUint(u) {
			d.problem(p, path, "expected a non-negative integer, not %s", q)
			return
		}
		v.SetUint(u)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.problem(p, path, "expected a number, not %s", q)
			return
		}
		v.SetFloat(f)
	default:
		d.problem(p, path, "cannot decode into %s", v.Type())
	}
}

func (d *decoder) decodeStruct(n ast.Node, v reflect.Value, path string) {
	es, ok := d.entries(n, path)
	if !ok {
		d.problem(nodePos(n), path, "expected a mapping, not %s", kindName(n))
		return
	}
	fields := structFields(v.Type())
	seen := map[string]bool{}
	for _, mv := range es {
		kp := nodePos(mv.Key)
		key, ok := d.scalar(keyNode(mv), path)
		if !ok {
			continue
		}
		fp := joinPath(path, key)
		if seen[key] {
			d.problem(kp, fp, "duplicate key")
			continue
		}
		seen[key] = true
		f, known := fields.byName[key]
		if !known {
			msg := fmt.Sprintf("unknown key %q", key)
			if s := suggest(key, fields.names); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			d.problem(kp, fp, "%s", msg)
			continue
		}
		d.record(fp, kp, mv.Value)
		d.decode(mv.Value, v.FieldByIndex(f), fp)
	}
}

func (d *decoder) decodeMap(n ast.Node, v reflect.Value, path string) {
	es, ok := d.entries(n, path)
	if !ok {
		d.problem(nodePos(n), path, "expected a mapping, not %s", kindName(n))
		return
	}
	t := v.Type()
	if t.Key().Kind() != reflect.String {
		d.problem(nodePos(n), path, "cannot decode into %s", t)
		return
	}
	m := reflect.MakeMapWithSize(t, len(es))
	seen := map[string]bool{}
	for _, mv := range es {
		kp := nodePos(mv.Key)
		key, ok := d.scalar(keyNode(mv), path)
		if !ok {
			continue
		}
		fp := joinPath(path, key)
		if seen[key] {
			d.problem(kp, fp, "duplicate key")
			continue
		}
		seen[key] = true
		d.record(fp, kp, mv.Value)
		e := reflect.New(t.Elem()).Elem()
		d.decode(mv.Value, e, fp)
		m.SetMapIndex(reflect.ValueOf(key).Convert(t.Key()), e)
	}
	v.Set(m)
}

func keyNode(mv *ast.MappingValueNode) ast.Node {
	if mk, ok := mv.Key.(*ast.MappingKeyNode); ok {
		return mk.Value
	}
	return mv.Key
}

func (d *decoder) record(path string, key pos, value ast.Node) {
	l := located{key: key, value: key}
	if r := d.resolve(value, path); r != nil {
		if _, null := r.(*ast.NullNode); !null {
			l.value = nodePos(r)
		}
		_, l.scalar = rawScalar(r)
	}
	d.where[path] = l
}

// anyValue decodes into untyped Go values (map[string]any, []any, string,
// int64, float64, bool, nil).
func (d *decoder) anyValue(n ast.Node, path string) (any, bool) {
	n = d.resolve(n, path)
	switch t := n.(type) {
	case nil, *ast.NullNode:
		return nil, true
	case *ast.MappingNode, *ast.MappingValueNode:
		var m map[string]any
		d.decodeMap(t, reflect.ValueOf(&m).Elem(), path)
		return m, true
	case *ast.SequenceNode:
		var s []any
		d.decode(t, reflect.ValueOf(&s).Elem(), path)
		return s, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
		return t.(ast.ScalarNode).GetValue(), true
	}
	return d.scalar(n, path)
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// parentPath drops the last element of a key path ("a.b[2]" -> "a.b").
func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

type fieldSet struct {
	byName map[string][]int
	names  []string
}

var fieldCache sync.Map // reflect.Type -> fieldSet

// structFields maps yaml key names to field indexes.
func structFields(t reflect.Type) fieldSet {
	if fs, ok := fieldCache.Load(t); ok {
		return fs.(fieldSet)
	}
	fs := fieldSet{byName: map[string][]int{}}
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fs.byName[name] = f.Index
		fs.names = append(fs.names, name)
	}
	fieldCache.Store(t, fs)
	return fs
}

// suggest returns the known name closest to key, if it is close.
func suggest(key string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := editDistance(key, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
