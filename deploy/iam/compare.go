package iam

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/meshgate/meshgate/awsclient"
)

// actionExceptions lists SDK operations whose IAM action is not "<service>:<Operation>".
// The keys are "<SDK service id>.<Operation>".
var actionExceptions = map[string]string{
	"S3.HeadObject":              "s3:GetObject",
	"S3.HeadBucket":              "s3:ListBucket",
	"S3.ListObjects":             "s3:ListBucket",
	"S3.ListObjectsV2":           "s3:ListBucket",
	"S3.CreateMultipartUpload":   "s3:PutObject",
	"S3.UploadPart":              "s3:PutObject",
	"S3.CompleteMultipartUpload": "s3:PutObject",
	"S3.ListParts":               "s3:ListMultipartUploadParts",
}

// ActionFor returns the IAM action an SDK operation needs: "Kinesis", "GetRecords" gives
// "kinesis:GetRecords". The service is the SDK's service id (as awsclient.Recorder records it).
func ActionFor(service, operation string) string {
	if a, ok := actionExceptions[service+"."+operation]; ok {
		return a
	}
	return strings.ToLower(strings.ReplaceAll(service, " ", "")) + ":" + operation
}

// LoadCalls reads one or more files written by awsclient.Recorder.WriteFile and returns the
// union of their calls, one entry per service and operation with the counts summed. Several
// files let a proof combine runs that exercise different paths (a reshard, a cold start).
func LoadCalls(paths ...string) ([]awsclient.Call, error) {
	type key struct{ service, operation string }
	sum := map[key]*awsclient.Call{}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read recorded AWS calls: %w", err)
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		var calls []awsclient.Call
		if err := dec.Decode(&calls); err != nil {
			return nil, fmt.Errorf("%s: decode recorded AWS calls: %w", path, err)
		}
		for _, c := range calls {
			if c.Service == "" || c.Operation == "" || c.Calls <= 0 {
				return nil, fmt.Errorf("%s: malformed entry %+v", path, c)
			}
			k := key{c.Service, c.Operation}
			if s := sum[k]; s != nil {
				s.Calls += c.Calls
				s.Errors += c.Errors
				continue
			}
			c := c
			sum[k] = &c
		}
	}
	out := make([]awsclient.Call, 0, len(sum))
	for _, c := range sum {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Service != out[j].Service {
			return out[i].Service < out[j].Service
		}
		return out[i].Operation < out[j].Operation
	})
	return out, nil
}

// Diff is the difference between what a policy grants and what the worker called.
type Diff struct {
	// Missing are actions the worker called (successfully or not) that the policy does not
	// grant: in AWS those calls would fail with AccessDenied.
	Missing []string
	// Unused are actions the policy grants that the worker never called: excess privilege.
	Unused []string
}

// Empty reports whether the policy grants exactly the called actions.
func (d Diff) Empty() bool { return len(d.Missing) == 0 && len(d.Unused) == 0 }

func (d Diff) String() string {
	if d.Empty() {
		return "policy grants exactly the called actions"
	}
	var b strings.Builder
	if len(d.Missing) > 0 {
		fmt.Fprintf(&b, "called but not granted: %s", strings.Join(d.Missing, ", "))
	}
	if len(d.Unused) > 0 {
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "granted but never called: %s", strings.Join(d.Unused, ", "))
	}
	return b.String()
}

// CalledActions maps recorded calls to the sorted set of IAM actions they need. A call that
// failed still counts: the worker needs the permission to make it (DescribeTable of a table
// that does not exist yet fails with ResourceNotFound, not with AccessDenied).
func CalledActions(calls []awsclient.Call) []string {
	set := map[string]bool{}
	for _, c := range calls {
		set[ActionFor(c.Service, c.Operation)] = true
	}
	return sortedKeys(set)
}

// Compare returns what granted lacks of the called actions and what it grants beyond them.
func Compare(granted []string, calls []awsclient.Call) Diff {
	called := CalledActions(calls)
	g := map[string]bool{}
	for _, a := range granted {
		g[a] = true
	}
	c := map[string]bool{}
	for _, a := range called {
		c[a] = true
	}
	var d Diff
	for _, a := range called {
		if !g[a] {
			d.Missing = append(d.Missing, a)
		}
	}
	for _, a := range sortedKeys(g) {
		if !c[a] {
			d.Unused = append(d.Unused, a)
		}
	}
	return d
}
