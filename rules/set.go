package rules

import (
	"os"

	"github.com/expr-lang/expr/vm"
	"github.com/meshgate/meshgate/jsonx"
)

// TestSalt is the fixed, public salt used for hash steps when Options.InsecureTestSalt is set
// and no real salt is configured. Hashes made with it protect nothing; it exists so that
// `meshgate lint` and `meshgate test` run in CI without the production secret and fixtures can
// pin hashed values.
const TestSalt = "meshgate-insecure-test-salt"

// DefaultMaxNodes is the default node budget of one expression.
const DefaultMaxNodes = 1000

// Options tune Load.
type Options struct {
	// HashSalt salts the hash enrichment. Empty means the environment variable
	// MESHGATE_HASH_SALT. A contract with a hash step and no salt does not load (ErrNoSalt),
	// unless InsecureTestSalt is set. The salt is never read from a contract file.
	HashSalt string
	// InsecureTestSalt makes hash steps use TestSalt when no salt is configured instead of
	// failing the load. For lint and fixture tests only; never for the worker.
	InsecureTestSalt bool
	// MaxNodes is the node budget of each expression (0 means DefaultMaxNodes).
	MaxNodes uint
	// Limits bound what the decoder accepts (zero means jsonx.DefaultLimits: depth 64, 1 MiB).
	Limits jsonx.Limits
}

func (o Options) withDefaults() Options {
	if o.HashSalt == "" {
		o.HashSalt = os.Getenv("MESHGATE_HASH_SALT")
	}
	if o.MaxNodes == 0 {
		o.MaxNodes = DefaultMaxNodes
	}
	return o
}

// Set is an immutable, compiled set of contracts, policies and fixtures, as loaded from one
// directory. It is safe for concurrent use; evaluation state lives in Evaluators.
type Set struct {
	dir       string
	contracts []*Contract // active contracts, sorted by domain
	shadows   []*Contract // shadow contracts, sorted by domain
	byDomain  map[string]*Contract
	shadow    map[string]*Contract
	byStream  map[string]*Contract
	policies  []*Policy
	fixtures  []FixtureFile
	notes     []Note
	hash      string
}

// Dir is the directory the set was loaded from.
func (s *Set) Dir() string { return s.dir }

// Contracts returns the active domain contracts, sorted by domain.
func (s *Set) Contracts() []*Contract { return s.contracts }

// Shadows returns the shadow (candidate) contracts, sorted by domain.
func (s *Set) Shadows() []*Contract { return s.shadows }

// Policies returns the global policies, sorted by name.
func (s *Set) Policies() []*Policy { return s.policies }

// ByDomain returns the active contract of domain, or nil.
func (s *Set) ByDomain(domain string) *Contract { return s.byDomain[domain] }

// ByStream returns the active contract whose sources include stream, or nil.
func (s *Set) ByStream(stream string) *Contract { return s.byStream[stream] }

// Shadow returns the shadow contract of domain, or nil.
func (s *Set) Shadow(domain string) *Contract { return s.shadow[domain] }

// Hash is a content hash (hex sha256) of every file the set was built from: contracts,
// policies, fixtures and lookup tables, with their paths relative to the directory.
func (s *Set) Hash() string { return s.hash }

// Fixtures returns the fixture files, sorted by file name.
func (s *Set) Fixtures() []FixtureFile { return s.fixtures }

// Notes returns the non-fatal remarks made while loading (shown by `meshgate lint`).
func (s *Set) Notes() []Note { return s.notes }

// Contract is one compiled domain contract. It is immutable and shared read-only by every
// goroutine judging its events.
type Contract struct {
	Domain      string
	Version     string
	Owner       string
	Description string
	// File is the source file the contract was read from.
	File string
	// Stage is StageActive or StageShadow.
	Stage   string
	Sources []string
	Curated string
	// Hash is a short content hash (16 hex digits) of the contract file, its lookup tables and
	// the policies applied to it: it changes whenever what judges the domain's events changes.
	Hash string
	// Spec is the source model the contract was compiled from (read-only).
	Spec *Spec
	// Policies are the global policies applied to this contract, in evaluation order.
	Policies []*Policy

	rules []*rule
	all   *vm.Program // every check rule combined; nil when there are none
	// checks is the number of rules with a check (rules without one are unique rules).
	checks int
	// uniques are the unique rules, in rule order, and uniqueIdx their indices in rules.
	uniques   []*rule
	uniqueIdx []int
	pk        valueExpr
	evType    valueExpr
	evVer     valueExpr
	evTime    valueExpr
	steps     []*step
	// metaDomain and metaVersion are Domain and Version boxed once for the metadata step.
	metaDomain  any
	metaVersion any
	limits      jsonx.Limits
	hasHash     bool
	salt        string
}

// RuleNames returns the names of every rule the contract evaluates, in evaluation order:
// policy rules first, then rules derived from field declarations, then the contract's rules.
func (c *Contract) RuleNames() []string {
	out := make([]string, len(c.rules))
	for i, r := range c.rules {
		out[i] = r.name
	}
	return out
}

// HasUniqueRules reports whether the contract has unique rules, whose verdicts depend on
// the records judged before (see State).
func (c *Contract) HasUniqueRules() bool { return len(c.uniques) > 0 }

// RuleInfo describes one rule of a compiled contract.
type RuleInfo struct {
	Name     string
	Severity Severity
	Message  string
	// Unique is true for a unique rule (a key remembered across events, always warn).
	Unique bool
	// Source is the policy name for policy rules, "fields" for rules derived from field
	// declarations, "" for the contract's own rules.
	Source string
	Pos    Pos
}

// Rules describes every rule in evaluation order.
func (c *Contract) Rules() []RuleInfo {
	out := make([]RuleInfo, len(c.rules))
	for i, r := range c.rules {
		out[i] = RuleInfo{Name: r.name, Severity: r.severity, Message: r.message, Source: r.source, Pos: r.pos, Unique: r.unique != nil}
	}
	return out
}

// Policy is one compiled global policy.
type Policy struct {
	Name      string
	Version   string
	Owner     string
	File      string
	AppliesTo []string
	// Hash is a short content hash (16 hex digits) of the policy file.
	Hash string
	Spec *Spec
}

// Applies reports whether the policy applies to domain.
func (p *Policy) Applies(domain string) bool {
	for _, d := range p.AppliesTo {
		if d == "*" || d == domain {
			return true
		}
	}
	return false
}

// HashesFields reports whether the contract has hash enrichment steps (which need a salt).
func (c *Contract) HashesFields() bool { return c.hasHash }
