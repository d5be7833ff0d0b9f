package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/meshgate/meshgate/rules"
	"github.com/meshgate/meshgate/schema"
)

func init() {
	register("schema", "export the JSON Schema (draft 2020-12) of a domain's curated events", runSchema)
}

const schemaUsage = "usage: meshgate schema DOMAIN --contracts DIR [--format jsonschema] [--stage active|shadow] [--out FILE]"

// runSchema is `meshgate schema DOMAIN --contracts DIR`: the JSON Schema of the events the
// domain's contract routes to its curated stream (package schema), on stdout or --out.
// Exit 0, 1 when the contracts do not load or the domain has no such contract, 2 on usage
// errors.
func runSchema(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("schema", schemaUsage, stderr)
	contracts := fs.String("contracts", os.Getenv("MESHGATE_CONTRACTS"), "contracts `DIR` (default $MESHGATE_CONTRACTS)")
	format := fs.String("format", "jsonschema", "output format; only jsonschema (JSON Schema draft 2020-12)")
	stage := fs.String("stage", rules.StageActive, "which contract of the domain: active or shadow (the candidate)")
	out := fs.String("out", "", "write the schema to `FILE` instead of stdout")
	if err := parseInterspersed(fs, args); err != nil {
		return flagExitCode(err)
	}
	if fs.NArg() != 1 || *contracts == "" {
		fs.Usage()
		return 2
	}
	if *format != "jsonschema" {
		fmt.Fprintf(stderr, "meshgate schema: unknown format %q (want jsonschema)\n", *format)
		return 2
	}
	if *stage != rules.StageActive && *stage != rules.StageShadow {
		fmt.Fprintf(stderr, "meshgate schema: unknown stage %q (want active or shadow)\n", *stage)
		return 2
	}
	// Nothing is hashed here: the public test salt lets contracts with hash steps load.
	set, err := rules.Load(*contracts, rules.Options{InsecureTestSalt: true})
	if err != nil {
		fmt.Fprintf(stderr, "meshgate schema: contracts in %s do not load:\n%v\n", *contracts, err)
		return 1
	}
	domain := fs.Arg(0)
	c := set.ByDomain(domain)
	if *stage == rules.StageShadow {
		c = set.Shadow(domain)
	}
	if c == nil {
		fmt.Fprintf(stderr, "meshgate schema: no %s contract for domain %q in %s (domains: %s)\n", *stage, domain, *contracts, domains(set))
		return 1
	}
	doc, err := schema.Export(c)
	if err != nil {
		fmt.Fprintf(stderr, "meshgate schema: %v\n", err)
		return 1
	}
	if *out != "" {
		if err := os.WriteFile(*out, doc, 0o644); err != nil {
			fmt.Fprintf(stderr, "meshgate schema: %v\n", err)
			return 1
		}
		return 0
	}
	if _, err := stdout.Write(doc); err != nil {
		return 1
	}
	return 0
}
