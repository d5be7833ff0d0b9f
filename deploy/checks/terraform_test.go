package checks

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func tfExpect(t *testing.T, root string) TFExpect {
	t.Helper()
	worker, err := PolicyStatements(filepath.Join(root, "deploy/iam/worker-policy.json"))
	if err != nil {
		t.Fatal(err)
	}
	kms, err := PolicyStatements(filepath.Join(root, "deploy/iam/worker-policy-kms.json"))
	if err != nil {
		t.Fatal(err)
	}
	contracts, err := PolicyStatements(filepath.Join(root, "deploy/iam/worker-policy-contracts-s3.json"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "deploy/ecs/task-definition.json"))
	if err != nil {
		t.Fatal(err)
	}
	var td struct {
		ContainerDefinitions []struct {
			StopTimeout float64
			HealthCheck struct{ Command []string }
		}
	}
	if err := json.Unmarshal(data, &td); err != nil {
		t.Fatal(err)
	}
	return TFExpect{Worker: worker, KMS: kms, Contracts: contracts, ECSStopTimeout: td.ContainerDefinitions[0].StopTimeout,
		HealthCheck: td.ContainerDefinitions[0].HealthCheck.Command}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func TestTerraformModule(t *testing.T) {
	root := repoRoot(t)
	m, err := ParseTerraform(filepath.Join(root, "deploy/terraform"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range TerraformProblems(m, tfExpect(t, root)) {
		t.Error(p)
	}
}

// Each edit of a copy of the module must be caught.
func TestTerraformProblemsCatchBreakage(t *testing.T) {
	root := repoRoot(t)
	src := filepath.Join(root, "deploy/terraform")
	want := tfExpect(t, root)
	tests := []struct {
		name, file, old, new, want string
	}{
		{"provisioned table", "dynamodb.tf", `billing_mode = "PAY_PER_REQUEST"`, `billing_mode = "PROVISIONED"`, `billing_mode = "PROVISIONED"`},
		{"no PITR", "dynamodb.tf", "point_in_time_recovery {\n    enabled = true", "point_in_time_recovery {\n    enabled = false", "enabled = false, want true"},
		{"other key", "dynamodb.tf", `hash_key     = "ShardID"`, `hash_key     = "leaseKey"`, `hash_key = "leaseKey"`},
		{"unencrypted stream", "streams.tf", `encryption_type = "KMS"`, `encryption_type = "NONE"`, `encryption_type = "NONE"`},
		{"fixed stream mode", "streams.tf", "stream_mode = var.stream_mode", `stream_mode = "ON_DEMAND"`, `stream_mode = "ON_DEMAND"`},
		{"public policy allowed", "s3.tf", "block_public_policy     = true", "block_public_policy     = false", "block_public_policy = false"},
		{"TLS deny inverted", "s3.tf", `values   = ["false"]`, `values   = ["true"]`, "aws:SecureTransport is false"},
		{"TLS deny objects only", "s3.tf", "      aws_s3_bucket.quarantine.arn,\n", "", "aws:SecureTransport is false"},
		{"no expiry", "s3.tf", "    expiration {\n      days = var.quarantine_expiration_days\n    }\n", "", "days = <nil>"},
		{"no SSE", "s3.tf", `sse_algorithm     = local.use_kms ? "aws:kms" : "AES256"`, `sse_algorithm     = local.use_kms ? "aws:kms" : "none"`, "sse_algorithm"},
		{"action dropped", "iam.tf", "      \"kinesis:ListShards\",\n", "", "differ from deploy/iam/worker-policy.json"},
		{"action added", "iam.tf", `actions   = ["s3:PutObject"]`, `actions   = ["s3:PutObject", "s3:GetObject"]`, "differ from deploy/iam/worker-policy.json"},
		{"star resource", "iam.tf", "resources = [local.quarantine_objects]", `resources = ["*"]`, `has a "*" resource`},
		{"kms always", "iam.tf", "for_each = local.use_kms ? [var.kms_key_arn] : []", "for_each = [var.kms_key_arn]", "only when a key is configured"},
		{"kms action added", "iam.tf", "        \"kms:GenerateDataKey\",\n", "        \"kms:GenerateDataKey\",\n        \"kms:Encrypt\",\n", "differ from deploy/iam/worker-policy-kms.json"},
		{"irsa any service account", "iam.tf", `values   = ["system:serviceaccount:${var.k8s_namespace}:${var.k8s_service_account}"]`, `values   = ["system:serviceaccount:*"]`, "limited to the chart's ServiceAccount"},
		{"surge", "ecs.tf", "deployment_maximum_percent         = 100", "deployment_maximum_percent         = 200", "deployment_maximum_percent = 200"},
		{"no rollback", "ecs.tf", "rollback = true", "rollback = false", "rollback = false"},
		{"public IP", "ecs.tf", "assign_public_ip = false", "assign_public_ip = true", "assign_public_ip = true"},
		{"writable root", "ecs.tf", "readonlyRootFilesystem = true", "readonlyRootFilesystem = false", "readonlyRootFilesystem"},
		{"root user", "ecs.tf", `user                   = "65532:65532"`, `user                   = "0"`, "container user"},
		{"short stop timeout", "variables.tf", "default     = 40\n", "default     = 20\n", "must exceed shutdown_grace_seconds"},
		{"no precondition", "ecs.tf", "condition     = var.stop_timeout_seconds > var.shutdown_grace_seconds", "condition     = true", "a precondition must refuse"},
		{"pinned lease tables ignored", "main.tf", "lookup(var.lease_tables, s, local.derived_lease_tables[s])", "local.derived_lease_tables[s]", "must honour var.lease_tables"},
		{"ARNs from another map", "main.tf", "for t in values(local.lease_tables)", "for t in values(local.derived_lease_tables)", "must be built from local.lease_tables"},
		{"tables from another map", "dynamodb.tf", "for_each = local.lease_tables", "for_each = local.derived_lease_tables", `for_each = "local.derived_lease_tables"`},
		{"lease ARNs elsewhere", "iam.tf", "resources = local.lease_table_arns", `resources = ["arn:aws:dynamodb:eu-west-1:123456789012:table/meshgate"]`, "want local.lease_table_arns"},
		{"worker not told its tables", "ecs.tf", "        { name = \"MESHGATE_LEASE_TABLES\", value = join(\",\", [for s, t in local.lease_tables : \"${s}=${t}\"]) },\n", "", "MESHGATE_LEASE_TABLES"},
		{"contracts always readable", "iam.tf", "for_each = local.use_s3_contracts ? [local.contracts_bucket] : []\n\n    content {\n      sid       = \"ReadContracts\"", "for_each = [local.contracts_bucket]\n\n    content {\n      sid       = \"ReadContracts\"", "must exist only for an S3 contracts source"},
		{"contracts listing unlimited", "iam.tf", `variable = "s3:prefix"`, `variable = "s3:delimiter"`, "limited to the prefix with s3:prefix"},
		{"contracts action added", "iam.tf", `actions   = ["s3:GetObject"]`, `actions   = ["s3:GetObject", "s3:GetObjectVersion"]`, "differ from deploy/iam/worker-policy-contracts-s3.json"},
		{"syntax error", "main.tf", "locals {", "locals {{", "parse terraform"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			files, _ := filepath.Glob(filepath.Join(src, "*.tf"))
			for _, f := range files {
				data, _ := os.ReadFile(f)
				if filepath.Base(f) == tt.file {
					if !strings.Contains(string(data), tt.old) {
						t.Fatalf("%s does not contain %q", tt.file, tt.old)
					}
					data = []byte(strings.Replace(string(data), tt.old, tt.new, 1))
				}
				os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o644)
			}
			m, err := ParseTerraform(dir)
			var got string
			if err != nil {
				got = err.Error()
			} else {
				got = strings.Join(TerraformProblems(m, want), "\n")
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("problems:\n%s\nwant one containing %q", got, tt.want)
			}
		})
	}
}
