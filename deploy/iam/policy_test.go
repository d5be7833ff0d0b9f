package iam

import (
	"fmt"
	"path"
	"reflect"
	"strings"
	"testing"

	"github.com/meshgate/meshgate/reload"
)

// exampleVars fills every placeholder of the shipped policies, two values where a worker
// commonly has several.
var exampleVars = map[string][]string{
	"Partition":        {"aws"},
	"Region":           {"eu-west-1"},
	"AccountId":        {"123456789012"},
	"RawStream":        {"orders-raw", "customers-raw"},
	"CuratedStream":    {"orders-curated", "customers-curated"},
	"LeaseTable":       {"meshgate-orders-raw", "meshgate-customers-raw"},
	"QuarantineBucket": {"acme-meshgate-quarantine"},
	"QuarantinePrefix": {"quarantine"},
}

func TestShippedPoliciesLint(t *testing.T) {
	for _, file := range []string{"worker-policy.json", "worker-policy-kms.json", "worker-policy-contracts-s3.json"} {
		t.Run(file, func(t *testing.T) {
			p, err := Load(file)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range p.Lint() {
				t.Error(e)
			}
		})
	}
}

func TestShippedPolicyRenders(t *testing.T) {
	p, err := Load("worker-policy.json")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Placeholders(), []string{"AccountId", "CuratedStream", "LeaseTable", "Partition", "QuarantineBucket", "QuarantinePrefix", "RawStream", "Region"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("placeholders %v, want %v", got, want)
	}
	r, err := Render(p, exampleVars)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range r.Lint() {
		t.Error(e)
	}
	want := map[string][]string{
		"ReadRawStreams": {
			"arn:aws:kinesis:eu-west-1:123456789012:stream/orders-raw",
			"arn:aws:kinesis:eu-west-1:123456789012:stream/customers-raw",
		},
		"WriteCuratedStreams": {
			"arn:aws:kinesis:eu-west-1:123456789012:stream/orders-curated",
			"arn:aws:kinesis:eu-west-1:123456789012:stream/customers-curated",
		},
		"LeaseTable": {
			"arn:aws:dynamodb:eu-west-1:123456789012:table/meshgate-orders-raw",
			"arn:aws:dynamodb:eu-west-1:123456789012:table/meshgate-customers-raw",
		},
		"WriteQuarantine": {"arn:aws:s3:::acme-meshgate-quarantine/quarantine/*"},
	}
	got := map[string][]string{}
	for _, st := range r.Statement {
		got[st.Sid] = st.Resource
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rendered resources\n%v\nwant\n%v", got, want)
	}
	// Reading and writing stay apart: the raw streams are never written, the curated ones
	// never read, and no KMS action hides in the base policy.
	for _, st := range r.Statement {
		for _, a := range st.Action {
			switch {
			case st.Sid == "ReadRawStreams" && strings.HasPrefix(a, "kinesis:Put"):
				t.Errorf("raw streams get write action %s", a)
			case st.Sid == "WriteCuratedStreams" && a != "kinesis:PutRecords":
				t.Errorf("curated streams get %s; the worker only writes them", a)
			case serviceOf(a) == "kms":
				t.Errorf("KMS action %s in the base policy; it belongs in worker-policy-kms.json", a)
			}
		}
	}
}

func TestKMSVariant(t *testing.T) {
	p, err := Load("worker-policy-kms.json")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Actions(), []string{"kms:Decrypt", "kms:GenerateDataKey"}; !reflect.DeepEqual(got, want) {
		t.Errorf("KMS actions %v, want %v", got, want)
	}
	key := "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
	r, err := Render(p, map[string][]string{"KmsKeyArn": {key}, "Region": {"eu-west-1"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range r.Lint() {
		t.Error(e)
	}
	st := r.Statement[0]
	if !reflect.DeepEqual([]string(st.Resource), []string{key}) {
		t.Errorf("resource %v", st.Resource)
	}
	via := st.Condition["StringEquals"]["kms:ViaService"]
	if !reflect.DeepEqual([]string(via), []string{"kinesis.eu-west-1.amazonaws.com", "s3.eu-west-1.amazonaws.com"}) {
		t.Errorf("kms:ViaService %v", via)
	}
}

// The contracts variant: list only under the prefix, read only objects under it.
func TestContractsS3Variant(t *testing.T) {
	p, err := Load("worker-policy-contracts-s3.json")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Actions(), []string{"s3:GetObject", "s3:ListBucket"}; !reflect.DeepEqual(got, want) {
		t.Errorf("actions %v, want %v", got, want)
	}
	r, err := Render(p, map[string][]string{"Partition": {"aws"}, "ContractsBucket": {"acme-contracts"}, "ContractsPrefix": {"meshgate/prod"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range r.Lint() {
		t.Error(e)
	}
	want := []Statement{
		{Sid: "ListContracts", Effect: "Allow", Action: Strings{"s3:ListBucket"}, Resource: Strings{"arn:aws:s3:::acme-contracts"},
			Condition: map[string]map[string]Strings{"StringLike": {"s3:prefix": {"meshgate/prod/*"}}}},
		{Sid: "ReadContracts", Effect: "Allow", Action: Strings{"s3:GetObject"}, Resource: Strings{"arn:aws:s3:::acme-contracts/meshgate/prod/*"}},
	}
	if !reflect.DeepEqual(r.Statement, want) {
		t.Errorf("rendered\n%+v\nwant\n%+v", r.Statement, want)
	}
	// The worker lists with Prefix "<prefix>/" (reload.S3Source); IAM's * matches the empty
	// rest as path.Match's does.
	_, prefix, _ := reload.ParseS3URI("s3://acme-contracts/meshgate/prod/")
	if ok, _ := path.Match(r.Statement[0].Condition["StringLike"]["s3:prefix"][0], prefix+"/"); !ok {
		t.Errorf("s3:prefix condition does not match the listing prefix %q the worker sends", prefix+"/")
	}
}

func TestLintFindsProblems(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{"star action", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::b/p/*"}]}`,
			[]string{`statement 0: action "*" grants everything`}},
		{"action wildcard", `{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":["kinesis:Get*"],"Resource":["arn:aws:kinesis:r:1:stream/s"]}]}`,
			[]string{`statement "A": action "kinesis:Get*" is a wildcard; list the operations`}},
		{"star resource", `{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":["kinesis:GetRecords"],"Resource":"*"}]}`,
			[]string{`statement "A": resource "*"`}},
		{"wildcard stream", `{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":["kinesis:GetRecords"],"Resource":"arn:aws:kinesis:r:1:stream/*"}]}`,
			[]string{`statement "A": resource "arn:aws:kinesis:r:1:stream/*" has a wildcard; only an S3 object ARN may end in <bucket>/<prefix>/*`}},
		{"whole bucket", `{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":["s3:PutObject"],"Resource":"arn:aws:s3:::b/*"}]}`,
			[]string{`statement "A": resource "arn:aws:s3:::b/*" has a wildcard; only an S3 object ARN may end in <bucket>/<prefix>/*`}},
		{"empty prefix", `{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":["s3:PutObject"],"Resource":"arn:aws:s3:::b//*"}]}`,
			[]string{`statement "A": resource "arn:aws:s3:::b//*" has a wildcard; only an S3 object ARN may end in <bucket>/<prefix>/*`}},
		{"wrong service resource", `{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":["dynamodb:GetItem"],"Resource":"arn:aws:kinesis:r:1:stream/s"}]}`,
			[]string{`statement "A": resource "arn:aws:kinesis:r:1:stream/s" is not a dynamodb ARN`}},
		{"mixed services", `{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":["dynamodb:GetItem","kinesis:GetRecords"],"Resource":"arn:aws:kinesis:r:1:stream/s"}]}`,
			[]string{
				`statement "A": mixes services [dynamodb kinesis]; one service per statement keeps resources exact`,
				`statement "A": resource "arn:aws:kinesis:r:1:stream/s" is not a dynamodb ARN`,
			}},
		{"deny and dup sid", `{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Deny","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/p/*"},{"Sid":"A","Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/p/*"}]}`,
			[]string{
				`statement "A": Effect "Deny": only Allow statements belong in the worker policy`,
				`statement "A": duplicate Sid`,
			}},
		{"not an arn", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"bucket/p"}]}`,
			[]string{`statement 0: resource "bucket/p" is not an ARN`}},
		{"old version, no statements", `{"Version":"2008-10-17","Statement":[]}`,
			[]string{`Version "2008-10-17": want 2012-10-17`, `no statements`}},
		{"bad action", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"GetRecords","Resource":"arn:aws:kinesis:r:1:stream/s"}]}`,
			[]string{`statement 0: action "GetRecords" is not service:Operation`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range p.Lint() {
				got = append(got, e.Error())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("lint:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestParseIsStrict(t *testing.T) {
	for _, doc := range []string{
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resources":"arn:aws:s3:::b/p/*"}]}`,
		`{"Version":"2012-10-17","Statement":[]} {}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":7}]}`,
	} {
		if _, err := Parse([]byte(doc)); err == nil {
			t.Errorf("Parse accepted %s", doc)
		}
	}
}

func TestRender(t *testing.T) {
	p, err := Parse([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kinesis:GetRecords",
		"Resource":["arn:${P}:kinesis:${R}:1:stream/${S}","arn:${P}:kinesis:${R}:1:stream/${S}"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Render(p, map[string][]string{"P": {"aws"}, "R": {"r1", "r2"}, "S": {"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	want := Strings{
		"arn:aws:kinesis:r1:1:stream/a", "arn:aws:kinesis:r1:1:stream/b",
		"arn:aws:kinesis:r2:1:stream/a", "arn:aws:kinesis:r2:1:stream/b",
	}
	if !reflect.DeepEqual(r.Statement[0].Resource, want) {
		t.Errorf("got %v, want %v", r.Statement[0].Resource, want)
	}
	if p.Statement[0].Resource[0] != "arn:${P}:kinesis:${R}:1:stream/${S}" {
		t.Error("Render modified its input")
	}

	errTests := []struct {
		name string
		vars map[string][]string
		want string
	}{
		{"missing", map[string][]string{"P": {"aws"}, "R": {"r"}}, "render policy: no value for ${S}"},
		{"empty value", map[string][]string{"P": {"aws"}, "R": {"r"}, "S": {""}}, `render policy: ${S}: value "" is empty or holds a wildcard or placeholder`},
		{"wildcard value", map[string][]string{"P": {"aws"}, "R": {"r"}, "S": {"*"}}, `render policy: ${S}: value "*" is empty or holds a wildcard or placeholder`},
		{"unknown var", map[string][]string{"P": {"aws"}, "R": {"r"}, "S": {"s"}, "Stream": {"x"}}, "render policy: ${Stream} is not used by the policy"},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Render(p, tt.vars)
			if err == nil || err.Error() != tt.want {
				t.Errorf("err %v, want %s", err, tt.want)
			}
		})
	}
}

func ExampleRender() {
	p, _ := Parse([]byte(`{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow",
		"Action":["kinesis:GetRecords"],"Resource":"arn:aws:kinesis:${Region}:123456789012:stream/${RawStream}"}]}`))
	r, _ := Render(p, map[string][]string{"Region": {"eu-west-1"}, "RawStream": {"orders-raw", "customers-raw"}})
	for _, res := range r.Statement[0].Resource {
		fmt.Println(res)
	}
	// Output:
	// arn:aws:kinesis:eu-west-1:123456789012:stream/orders-raw
	// arn:aws:kinesis:eu-west-1:123456789012:stream/customers-raw
}
