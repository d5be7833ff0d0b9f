package iam

import (
	"strings"

	"github.com/meshgate/meshgate/config"
	"github.com/meshgate/meshgate/reload"
)

// VarsFromConfig returns the placeholder values a worker configuration determines: Region,
// RawStream (each source stream), LeaseTable (each stream's lease table, pinned
// streams[].leaseTable or derived, exactly as the worker names it), QuarantineBucket,
// QuarantinePrefix and, for contracts read from s3://bucket/prefix, ContractsBucket and
// ContractsPrefix. Partition, AccountId and the curated streams (named by the contracts)
// are not in the configuration; KmsKeyArn is the key's ARN, which kmsKeyID need not be.
func VarsFromConfig(c *config.Config) map[string][]string {
	v := map[string][]string{
		"QuarantineBucket": {c.Quarantine.Bucket},
		"QuarantinePrefix": {strings.Trim(c.Quarantine.Prefix, "/")},
	}
	if c.Region != "" {
		v["Region"] = []string{c.Region}
	}
	for _, s := range c.Streams {
		v["RawStream"] = append(v["RawStream"], s.Name)
		v["LeaseTable"] = append(v["LeaseTable"], c.LeaseTable(s.Name))
	}
	if bucket, prefix, ok := reload.ParseS3URI(c.Contracts); ok {
		v["ContractsBucket"] = []string{bucket}
		v["ContractsPrefix"] = []string{prefix}
	}
	return v
}

// Only returns the entries of vars whose names the policy uses, so that values derived for
// one policy file (VarsFromConfig) can render another that needs fewer.
func (p *Policy) Only(vars map[string][]string) map[string][]string {
	out := map[string][]string{}
	for _, name := range p.Placeholders() {
		if vals, ok := vars[name]; ok {
			out[name] = vals
		}
	}
	return out
}
