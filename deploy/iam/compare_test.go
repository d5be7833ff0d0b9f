package iam

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/meshgate/meshgate/awsclient"
)

func TestActionFor(t *testing.T) {
	tests := []struct{ service, op, want string }{
		{"Kinesis", "GetRecords", "kinesis:GetRecords"},
		{"Kinesis", "ListShards", "kinesis:ListShards"},
		{"DynamoDB", "CreateTable", "dynamodb:CreateTable"},
		{"S3", "PutObject", "s3:PutObject"},
		{"S3", "HeadObject", "s3:GetObject"},
		{"S3", "ListObjectsV2", "s3:ListBucket"},
		{"S3", "UploadPart", "s3:PutObject"},
		{"CloudWatch", "PutMetricData", "cloudwatch:PutMetricData"},
	}
	for _, tt := range tests {
		if got := ActionFor(tt.service, tt.op); got != tt.want {
			t.Errorf("ActionFor(%s, %s) = %s, want %s", tt.service, tt.op, got, tt.want)
		}
	}
}

func writeCalls(t *testing.T, calls []awsclient.Call) string {
	t.Helper()
	data, err := json.Marshal(calls)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "calls.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadCallsUnion(t *testing.T) {
	a := writeCalls(t, []awsclient.Call{
		{Service: "Kinesis", Operation: "GetRecords", Action: "kinesis:GetRecords", Calls: 10},
		{Service: "DynamoDB", Operation: "DescribeTable", Action: "dynamodb:DescribeTable", Calls: 1, Errors: 1},
	})
	b := writeCalls(t, []awsclient.Call{
		{Service: "Kinesis", Operation: "GetRecords", Action: "kinesis:GetRecords", Calls: 5, Errors: 2},
		{Service: "DynamoDB", Operation: "DeleteItem", Action: "dynamodb:DeleteItem", Calls: 1},
	})
	got, err := LoadCalls(a, b)
	if err != nil {
		t.Fatal(err)
	}
	want := []awsclient.Call{
		{Service: "DynamoDB", Operation: "DeleteItem", Action: "dynamodb:DeleteItem", Calls: 1},
		{Service: "DynamoDB", Operation: "DescribeTable", Action: "dynamodb:DescribeTable", Calls: 1, Errors: 1},
		{Service: "Kinesis", Operation: "GetRecords", Action: "kinesis:GetRecords", Calls: 15, Errors: 2},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestLoadCallsRejectsBadFiles(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]string{
		"unknown-field.json": `[{"service":"S3","operation":"PutObject","calls":1,"resource":"x"}]`,
		"no-calls.json":      `[{"service":"S3","operation":"PutObject","calls":0}]`,
		"no-op.json":         `[{"service":"S3","calls":1}]`,
		"not-json.json":      `service=S3`,
	}
	for name, content := range cases {
		path := filepath.Join(dir, name)
		os.WriteFile(path, []byte(content), 0o644)
		if _, err := LoadCalls(path); err == nil {
			t.Errorf("%s: LoadCalls accepted %s", name, content)
		}
	}
	if _, err := LoadCalls(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("LoadCalls accepted a missing file")
	}
}

func TestCompare(t *testing.T) {
	calls := []awsclient.Call{
		{Service: "Kinesis", Operation: "GetRecords", Calls: 3},
		{Service: "Kinesis", Operation: "ListShards", Calls: 1},
		{Service: "DynamoDB", Operation: "DescribeTable", Calls: 1, Errors: 1}, // failed calls count too
		{Service: "S3", Operation: "HeadObject", Calls: 1},
	}
	tests := []struct {
		name    string
		granted []string
		want    Diff
		text    string
	}{
		{"exact", []string{"kinesis:GetRecords", "kinesis:ListShards", "dynamodb:DescribeTable", "s3:GetObject"},
			Diff{}, "policy grants exactly the called actions"},
		{"missing", []string{"kinesis:GetRecords", "dynamodb:DescribeTable", "s3:GetObject"},
			Diff{Missing: []string{"kinesis:ListShards"}}, "called but not granted: kinesis:ListShards"},
		{"unused", []string{"kinesis:GetRecords", "kinesis:ListShards", "dynamodb:DescribeTable", "s3:GetObject", "dynamodb:DeleteTable", "kinesis:PutRecords"},
			Diff{Unused: []string{"dynamodb:DeleteTable", "kinesis:PutRecords"}}, "granted but never called: dynamodb:DeleteTable, kinesis:PutRecords"},
		{"both", []string{"kinesis:GetRecords", "kinesis:ListShards", "dynamodb:DescribeTable", "s3:HeadObject"},
			Diff{Missing: []string{"s3:GetObject"}, Unused: []string{"s3:HeadObject"}},
			"called but not granted: s3:GetObject; granted but never called: s3:HeadObject"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Compare(tt.granted, calls)
			if !reflect.DeepEqual(d, tt.want) {
				t.Errorf("diff %+v, want %+v", d, tt.want)
			}
			if d.String() != tt.text {
				t.Errorf("text %q, want %q", d.String(), tt.text)
			}
			if d.Empty() != (tt.text == "policy grants exactly the called actions") {
				t.Errorf("Empty() = %v", d.Empty())
			}
		})
	}
}
