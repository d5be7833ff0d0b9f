package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/expr-lang/expr"
)

// maxSpecBytes bounds one contract, policy or fixture file.
const maxSpecBytes = 16 << 20

// Load reads every contract, policy and fixture file under dir (recursively; dir may also be
// a single file), compiles all of them and returns the immutable Set. When anything is wrong it
// returns an ErrorList with every problem in every file, each as file:line:col with a caret
// snippet; a Set is returned only when there is no error at all.
//
// Files are recognised by name: *.test.yaml (or .yml) are fixtures; names ending in a suffix
// registered with RegisterFormat go to that format's parser; other *.yaml / *.yml files are
// native contracts (top-level "domain") or policies (top-level "policy"). Directories whose
// names start with "." are skipped; other files are ignored (lookup tables are read because a
// contract names them).
func Load(dir string, opts Options) (*Set, error) {
	opts = opts.withDefaults()
	files, err := listFiles(dir)
	if err != nil {
		return nil, err
	}
	l := &loader{
		dir:     dir,
		cc:      &compiler{opts: opts, sources: map[string][]byte{}},
		hashes:  map[string][]byte{},
		fixture: map[string][]byte{},
	}
	for _, f := range files {
		data, err := readLimited(f)
		if err != nil {
			l.cc.errorf(Pos{File: f}, "%v", err)
			continue
		}
		l.cc.sources[f] = data
		l.hashes[f] = data
		l.parse(f, data)
	}
	set := l.build()
	errs := l.cc.errs
	errs.fillSnippets(l.cc.sources)
	errs = errs.sortDedup()
	if len(errs) > 0 {
		return nil, errs
	}
	return set, nil
}

// listFiles returns the candidate files under dir, sorted.
func listFiles(dir string) ([]string, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("load contracts: %w", err)
	}
	if !fi.IsDir() {
		return []string{dir}, nil
	}
	var out []string
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != dir && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if isYAML(d.Name()) {
			out = append(out, path)
		} else if _, ok := formatFor(d.Name()); ok {
			out = append(out, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load contracts: %w", err)
	}
	sort.Strings(out)
	return out, nil
}

func isYAML(name string) bool {
	return strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")
}

func isFixture(name string) bool {
	return strings.HasSuffix(name, ".test.yaml") || strings.HasSuffix(name, ".test.yml")
}

func readLimited(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Size() > maxSpecBytes {
		return nil, fmt.Errorf("file is larger than %d bytes", maxSpecBytes)
	}
	return os.ReadFile(path)
}

type loader struct {
	dir      string
	cc       *compiler
	specs    []*Spec
	fixture  map[string][]byte // fixture files, parsed after the contracts
	hashes   map[string][]byte // every file that went into the set, for Set.Hash
	notes    []Note
	policies []*Policy
}

func (l *loader) parse(file string, data []byte) {
	base := filepath.Base(file)
	var (
		spec *Spec
		errs ErrorList
	)
	switch parse, ok := formatFor(base); {
	case isFixture(base):
		l.fixture[file] = data
		return
	case ok:
		spec, errs = safeParse(parse, file, data)
	default:
		spec, errs = ParseYAML(file, data)
	}
	l.cc.errs = append(l.cc.errs, errs...)
	if spec != nil {
		if spec.File == "" {
			spec.File = file
		}
		l.notes = append(l.notes, spec.Notes...)
		l.specs = append(l.specs, spec)
		for f, data := range spec.Includes {
			l.hashes[f] = data
			if _, ok := l.cc.sources[f]; !ok {
				l.cc.sources[f] = data
			}
		}
	}
}

// safeParse runs a registered parser, turning a panic into an error so that one broken
// plug-in cannot take down a reload.
func safeParse(parse FormatParser, file string, data []byte) (spec *Spec, errs ErrorList) {
	defer func() {
		if r := recover(); r != nil {
			spec = nil
			errs = ErrorList{{File: file, Msg: fmt.Sprintf("internal error in format parser: %v", r)}}
		}
	}()
	return parse(file, data)
}

// build compiles everything parsed and assembles the Set.
func (l *loader) build() *Set {
	cc := l.cc
	s := &Set{dir: l.dir, byDomain: map[string]*Contract{}, shadow: map[string]*Contract{}, byStream: map[string]*Contract{}}

	// Policies first: they are compiled on their own (untyped) to report their errors once.
	policyOK := map[*Policy]bool{}
	seenPolicy := map[string]*Spec{}
	for _, sp := range l.specs {
		if sp.Kind != KindPolicy {
			continue
		}
		if prev, dup := seenPolicy[sp.Name.Value]; dup {
			cc.errorf(sp.Name.Pos, "policy %q is already defined at %s", sp.Name.Value, posString(prev.Name.Pos))
			continue
		}
		seenPolicy[sp.Name.Value] = sp
		p := &Policy{Name: sp.Name.Value, Version: sp.Version.Value, Owner: sp.Owner.Value, File: sp.File,
			Hash: shortHash(l.hashes[sp.File]), Spec: sp}
		for _, a := range sp.AppliesTo {
			p.AppliesTo = append(p.AppliesTo, a.Value)
		}
		n := len(cc.errs)
		cc.checkRuleNames(sp.Rules, nil)
		cc.compileRules(sp.Rules, p.Name, &scope{env: envType(nil), opts: policyFnOpts})
		policyOK[p] = len(cc.errs) == n
		s.policies = append(s.policies, p)
	}
	sort.Slice(s.policies, func(i, j int) bool { return s.policies[i].Name < s.policies[j].Name })

	// Contracts.
	var all []*Contract
	for _, sp := range l.specs {
		if sp.Kind != KindContract {
			continue
		}
		var applied []*Policy
		for _, p := range s.policies {
			if p.Applies(sp.Name.Value) {
				applied = append(applied, p)
			}
		}
		all = append(all, l.compileContract(sp, applied, policyOK))
	}

	// Stages and routing.
	seen := map[string]*Contract{}
	for _, c := range all {
		key := c.Stage + "\x00" + c.Domain
		if prev, dup := seen[key]; dup {
			cc.errorf(c.Spec.Name.Pos, "domain %q already has an %s contract at %s (at most one active and one shadow contract per domain)",
				c.Domain, c.Stage, posString(prev.Spec.Name.Pos))
			continue
		}
		seen[key] = c
		if c.Stage == StageShadow {
			s.shadows = append(s.shadows, c)
			s.shadow[c.Domain] = c
			continue
		}
		s.contracts = append(s.contracts, c)
		s.byDomain[c.Domain] = c
		for i, src := range c.Sources {
			if prev, dup := s.byStream[src]; dup && prev != c {
				cc.errorf(c.Spec.Sources[i].Pos, "stream %q is already judged by active contract %q (%s); a stream has one active contract",
					src, prev.Domain, posString(prev.Spec.Name.Pos))
				continue
			}
			s.byStream[src] = c
		}
	}
	sort.Slice(s.contracts, func(i, j int) bool { return s.contracts[i].Domain < s.contracts[j].Domain })
	sort.Slice(s.shadows, func(i, j int) bool { return s.shadows[i].Domain < s.shadows[j].Domain })

	for _, p := range s.policies {
		for _, a := range p.Spec.AppliesTo {
			if a.Value != "*" && s.byDomain[a.Value] == nil && s.shadow[a.Value] == nil {
				l.notes = append(l.notes, Note{Pos: a.Pos, Msg: fmt.Sprintf("policy %q applies to domain %q, which has no contract here", p.Name, a.Value)})
			}
		}
	}

	// Fixtures, now that the contracts are known.
	for _, f := range sortedKeys(l.fixture) {
		if ff, ok := l.parseFixtures(f, l.fixture[f], s); ok {
			s.fixtures = append(s.fixtures, ff)
		}
	}

	// The set's hash covers every file, by path relative to the directory.
	h := sha256.New()
	for _, f := range sortedKeys(l.hashes) {
		fmt.Fprintf(h, "%s\x00%d\x00", l.rel(f), len(l.hashes[f]))
		h.Write(l.hashes[f])
	}
	s.hash = hex.EncodeToString(h.Sum(nil))
	sort.Slice(l.notes, func(i, j int) bool { return posLess(l.notes[i].Pos, l.notes[j].Pos) })
	s.notes = l.notes
	return s
}

// rel names a file relative to the loaded directory, so that hashes do not depend on where
// the contracts are checked out or mounted.
func (l *loader) rel(path string) string {
	rel, err := filepath.Rel(l.dir, path)
	if err != nil {
		return filepath.ToSlash(path)
	}
	return filepath.ToSlash(rel)
}

func posLess(a, b Pos) bool {
	if a.File != b.File {
		return a.File < b.File
	}
	if a.Line != b.Line {
		return a.Line < b.Line
	}
	return a.Col < b.Col
}

func shortHash(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d\x00", len(p))
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// policyFnOpts are the functions available to policies (no lookup tables).
var policyFnOpts = append(append([]expr.Option{}, vocabularyOptions...), lookupOption(nil))

// checkRuleNames reports duplicate rule names; taken holds names already used (and is updated).
func (cc *compiler) checkRuleNames(rs []SpecRule, taken map[string]Pos) {
	if taken == nil {
		taken = map[string]Pos{}
	}
	for _, r := range rs {
		if r.Name.Value == "" {
			continue
		}
		if prev, dup := taken[r.Name.Value]; dup {
			cc.errorf(r.Name.Pos, "duplicate rule name %q (first defined at %s)", r.Name.Value, posString(prev))
			continue
		}
		taken[r.Name.Value] = r.Name.Pos
	}
}

// compileContract compiles one contract spec with the policies that apply to it. When it
// reports errors the returned contract is incomplete and only good for set-level checks.
func (l *loader) compileContract(sp *Spec, policies []*Policy, policyOK map[*Policy]bool) *Contract {
	cc := l.cc
	start := len(cc.errs)
	c := &Contract{
		Domain: sp.Name.Value, Version: sp.Version.Value, Owner: sp.Owner.Value, Description: sp.Description,
		File: sp.File, Stage: sp.Stage.Value, Curated: sp.Curated.Value, Spec: sp, Policies: policies,
		limits: cc.opts.Limits,
	}
	if c.Stage == "" {
		c.Stage = StageActive
	}
	for _, s := range sp.Sources {
		c.Sources = append(c.Sources, s.Value)
	}
	hashParts := [][]byte{l.hashes[sp.File]}
	for _, f := range sortedKeys(sp.Includes) {
		hashParts = append(hashParts, []byte(l.rel(f)), sp.Includes[f])
	}

	// Lookup tables.
	tables := map[string]table{}
	for _, lk := range sp.Lookups {
		if _, dup := tables[lk.Name.Value]; dup {
			cc.errorf(lk.Name.Pos, "duplicate lookup table %q", lk.Name.Value)
			continue
		}
		if lk.File.Value == "" {
			tables[lk.Name.Value] = table{} // the missing file: is reported by the parser
			continue
		}
		path, data, t, err := loadLookup(sp.File, lk)
		if err != nil {
			pos := lk.File.Pos
			if pos.IsZero() {
				pos = lk.Name.Pos
			}
			cc.errorf(pos, "lookup %s: %v", lk.Name.Value, err)
			t = table{}
		} else {
			l.hashes[path] = data
			hashParts = append(hashParts, []byte(l.rel(path)), data)
		}
		tables[lk.Name.Value] = t
	}

	// Declared fields: no shadowing of the vocabulary.
	for _, f := range sp.Fields {
		if vocabularyNames[f.Name.Value] {
			cc.errorf(f.Name.Pos, "field %q has the name of a function; refer to it as $env[%q] and do not declare it", f.Name.Value, f.Name.Value)
		}
	}
	sc := &scope{env: envType(sp.Fields), opts: append(append([]expr.Option{}, vocabularyOptions...), lookupOption(tables)), tables: tables}

	// Rules: policies, then derived from fields, then the contract's own.
	var specRules []SpecRule
	taken := map[string]Pos{}
	policyFailed := false
	for _, p := range policies {
		hashParts = append(hashParts, l.hashes[p.File])
		if !policyOK[p] {
			policyFailed = true
			continue
		}
		cc.checkRuleNames(p.Spec.Rules, taken)
		n := len(cc.errs)
		rs := cc.compileRules(p.Spec.Rules, p.Name, sc)
		for _, e := range cc.errs[n:] {
			e.Msg += fmt.Sprintf(" (with the field types of contract %q)", c.Domain)
		}
		c.rules = append(c.rules, rs...)
		specRules = append(specRules, p.Spec.Rules...)
	}
	derived := deriveRules(sp.FieldRulePrefix, sp.Fields)
	cc.checkRuleNames(derived, taken)
	c.rules = append(c.rules, cc.compileRules(derived, "fields", sc)...)
	cc.checkRuleNames(sp.Rules, taken)
	c.rules = append(c.rules, cc.compileRules(sp.Rules, "", sc)...)
	specRules = append(append(specRules, derived...), sp.Rules...)

	c.pk = cc.compileValue(sp.PartitionKey, "partitionKey", sc)
	c.evType = cc.compileValue(sp.Event.Type, "event.type", sc)
	c.evVer = cc.compileValue(sp.Event.SchemaVersion, "event.schemaVersion", sc)
	c.evTime = cc.compileValue(sp.Event.Time, "event.time", sc)
	cc.compileSteps(sp, sc, c)

	if len(cc.errs) > start || policyFailed {
		return c // not runnable; returned for the set-level checks only (Load fails anyway)
	}
	c.all = cc.combine(specRules, sc)
	for i, r := range c.rules {
		if r.unique != nil {
			c.uniques = append(c.uniques, r)
			c.uniqueIdx = append(c.uniqueIdx, i)
		} else {
			c.checks++
		}
	}
	c.Hash = shortHash(hashParts...)
	return c
}
