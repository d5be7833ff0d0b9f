package checks

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// PolicyStatements reads an IAM policy JSON file (deploy/iam) and returns Sid -> sorted actions.
func PolicyStatements(path string) (map[string][]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Statement []struct {
			Sid    string
			Action []string
		}
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := map[string][]string{}
	for _, st := range doc.Statement {
		a := append([]string(nil), st.Action...)
		sort.Strings(a)
		out[st.Sid] = a
	}
	return out, nil
}

// TFExpect is what the Terraform module is checked against.
type TFExpect struct {
	// Worker, KMS and Contracts are deploy/iam/worker-policy.json, worker-policy-kms.json and
	// worker-policy-contracts-s3.json: Sid -> actions.
	Worker, KMS, Contracts map[string][]string
	// ECSStopTimeout is deploy/ecs/task-definition.json's stopTimeout; HealthCheck its command.
	ECSStopTimeout float64
	HealthCheck    []string
}

// TerraformProblems checks the security and operational properties of the module.
func TerraformProblems(m *TFModule, want TFExpect) []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	eq := func(b *hclsyntax.Block, attr string, v any) {
		got, ok := m.Attr(b, attr)
		if !ok || !reflect.DeepEqual(got, v) {
			add("%s: %s = %#v, want %#v", Where(b), attr, got, v)
		}
	}

	// Streams: encrypted, capacity mode from the validated variable.
	for _, name := range []string{"raw", "curated"} {
		b := m.One("resource", "aws_kinesis_stream", name)
		if b == nil {
			add("missing resource aws_kinesis_stream.%s", name)
			continue
		}
		eq(b, "encryption_type", "KMS")
		if v, ok := m.Attr(b, "kms_key_id"); !ok || v == nil {
			add("%s: kms_key_id must name a key", Where(b))
		}
		eq(NestedOne(b, "stream_mode_details"), "stream_mode", Ref("var.stream_mode"))
	}
	if v := m.One("variable", "stream_mode"); v == nil || !strings.Contains(exprText(m, v), `["ON_DEMAND", "PROVISIONED"]`) {
		add("variable stream_mode must be validated to ON_DEMAND or PROVISIONED")
	}

	// Lease tables: on-demand, point-in-time recovery, the worker's key schema.
	if b := m.One("resource", "aws_dynamodb_table", "lease"); b == nil {
		add("missing resource aws_dynamodb_table.lease")
	} else {
		eq(b, "billing_mode", "PAY_PER_REQUEST")
		eq(b, "hash_key", "ShardID")
		eq(NestedOne(b, "point_in_time_recovery"), "enabled", true)
		eq(NestedOne(b, "server_side_encryption"), "enabled", true)
		attr := NestedOne(b, "attribute")
		eq(attr, "name", "ShardID")
		eq(attr, "type", "S")
		eq(b, "for_each", Ref("local.lease_tables"))
	}
	// One map names the tables, their IAM ARNs and the worker's MESHGATE_LEASE_TABLES, and it
	// honours the pinned names (var.lease_tables, the worker's streams[].leaseTable).
	locals := m.One("locals")
	if v, _ := m.Attr(locals, "lease_tables"); !strings.Contains(fmt.Sprint(v), "var.lease_tables") {
		add("local.lease_tables must honour var.lease_tables (pinned lease tables), got %v", v)
	}
	if v, _ := m.Attr(locals, "lease_table_arns"); !strings.Contains(fmt.Sprint(v), "local.lease_tables") {
		add("local.lease_table_arns must be built from local.lease_tables, got %v", v)
	}

	// Quarantine bucket.
	bucketRef := Ref("aws_s3_bucket.quarantine.id")
	pab := m.One("resource", "aws_s3_bucket_public_access_block", "quarantine")
	eq(pab, "bucket", bucketRef)
	for _, a := range []string{"block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"} {
		eq(pab, a, true)
	}
	sse := m.One("resource", "aws_s3_bucket_server_side_encryption_configuration", "quarantine")
	eq(sse, "bucket", bucketRef)
	def := NestedOne(NestedOne(sse, "rule"), "apply_server_side_encryption_by_default")
	if alg, ok := m.Attr(def, "sse_algorithm"); !ok || !validSSE(alg) {
		add("%s: sse_algorithm %#v, want AES256 or aws:kms", Where(sse), alg)
	}
	lc := m.One("resource", "aws_s3_bucket_lifecycle_configuration", "quarantine")
	eq(lc, "bucket", bucketRef)
	rule := NestedOne(lc, "rule")
	eq(rule, "status", "Enabled")
	eq(NestedOne(rule, "expiration"), "days", Ref("var.quarantine_expiration_days"))
	eq(m.One("resource", "aws_s3_bucket_ownership_controls", "quarantine"), "bucket", bucketRef)
	eq(NestedOne(m.One("resource", "aws_s3_bucket_ownership_controls", "quarantine"), "rule"), "object_ownership", "BucketOwnerEnforced")
	pol := m.One("resource", "aws_s3_bucket_policy", "quarantine")
	eq(pol, "bucket", bucketRef)
	eq(pol, "policy", Ref("data.aws_iam_policy_document.quarantine_bucket.json"))
	tls := false
	for _, st := range Nested(m.One("data", "aws_iam_policy_document", "quarantine_bucket"), "statement") {
		eff, _ := m.Attr(st, "effect")
		acts, _ := m.Attr(st, "actions")
		res, _ := m.Attr(st, "resources")
		c := NestedOne(st, "condition")
		test, _ := m.Attr(c, "test")
		variable, _ := m.Attr(c, "variable")
		vals, _ := m.Attr(c, "values")
		pr := NestedOne(st, "principals")
		ids, _ := m.Attr(pr, "identifiers")
		if eff == "Deny" && reflect.DeepEqual(acts, []any{"s3:*"}) && test == "Bool" && variable == "aws:SecureTransport" &&
			reflect.DeepEqual(vals, []any{"false"}) && reflect.DeepEqual(ids, []any{"*"}) &&
			reflect.DeepEqual(res, []any{Ref("aws_s3_bucket.quarantine.arn"), Expr(`"${aws_s3_bucket.quarantine.arn}/*"`)}) {
			tls = true
		}
	}
	if !tls {
		add("the quarantine bucket policy must deny s3:* on the bucket and its objects to everyone when aws:SecureTransport is false")
	}

	// The worker policy equals deploy/iam.
	doc := m.One("data", "aws_iam_policy_document", "worker")
	got := map[string][]string{}
	for _, st := range Nested(doc, "statement") {
		sid, _ := m.Attr(st, "sid")
		eff, _ := m.Attr(st, "effect")
		acts, _ := m.Attr(st, "actions")
		list, ok := Strings(acts)
		if !ok || eff != "Allow" {
			add("%s: statement %v must be Allow with a literal action list", Where(st), sid)
			continue
		}
		sort.Strings(list)
		got[fmt.Sprint(sid)] = list
		res, _ := m.Attr(st, "resources")
		if hasStar(res) {
			add("%s: statement %v has a \"*\" resource", Where(st), sid)
		}
		if sid == "LeaseTable" && res != Ref("local.lease_table_arns") {
			add("%s: statement LeaseTable resources = %v, want local.lease_table_arns (the tables this module creates)", Where(st), res)
		}
	}
	if !reflect.DeepEqual(got, want.Worker) {
		add("worker policy statements (sid -> actions) %v differ from deploy/iam/worker-policy.json %v", got, want.Worker)
	}
	// Optional statements: KMS only with a key, contracts only with an S3 contracts source.
	gotKMS, gotContracts := map[string][]string{}, map[string][]string{}
	for _, dyn := range Nested(doc, "dynamic") {
		if len(dyn.Labels) != 1 || dyn.Labels[0] != "statement" {
			continue
		}
		fe, _ := m.Attr(dyn, "for_each")
		content := NestedOne(dyn, "content")
		sid, _ := m.Attr(content, "sid")
		acts, _ := m.Attr(content, "actions")
		list, _ := Strings(acts)
		sort.Strings(list)
		c := NestedOne(content, "condition")
		variable, _ := m.Attr(c, "variable")
		if _, isContracts := want.Contracts[fmt.Sprint(sid)]; isContracts {
			gotContracts[fmt.Sprint(sid)] = list
			if c, ok := fe.(Cond); !ok || c.Cond != "local.use_s3_contracts" || !reflect.DeepEqual(c.False, []any{}) {
				add("%s: the contracts statement %v must exist only for an S3 contracts source (for_each = local.use_s3_contracts ? ... : [])", Where(dyn), sid)
			}
			if slices.Contains(list, "s3:ListBucket") && variable != "s3:prefix" {
				add("%s: s3:ListBucket on the contracts bucket must be limited to the prefix with s3:prefix", Where(dyn))
			}
			continue
		}
		gotKMS[fmt.Sprint(sid)] = list
		if c, ok := fe.(Cond); !ok || c.Cond != "local.use_kms" || !reflect.DeepEqual(c.False, []any{}) {
			add("%s: the KMS statement must exist only when a key is configured (for_each = local.use_kms ? ... : [])", Where(dyn))
		}
		if variable != "kms:ViaService" {
			add("%s: the KMS statement must be limited with kms:ViaService", Where(dyn))
		}
	}
	if !reflect.DeepEqual(gotKMS, want.KMS) {
		add("KMS statements %v differ from deploy/iam/worker-policy-kms.json %v", gotKMS, want.KMS)
	}
	if !reflect.DeepEqual(gotContracts, want.Contracts) {
		add("contracts statements %v differ from deploy/iam/worker-policy-contracts-s3.json %v", gotContracts, want.Contracts)
	}
	eq(m.One("resource", "aws_iam_policy", "worker"), "policy", Ref("data.aws_iam_policy_document.worker.json"))
	for _, att := range []string{"task_worker", "irsa_worker"} {
		eq(m.One("resource", "aws_iam_role_policy_attachment", att), "policy_arn", Ref("aws_iam_policy.worker.arn"))
	}

	// Who may assume the roles.
	ecsAssume := NestedOne(m.One("data", "aws_iam_policy_document", "ecs_tasks_assume"), "statement")
	eq(NestedOne(ecsAssume, "principals"), "identifiers", []any{"ecs-tasks.amazonaws.com"})
	eq(m.One("resource", "aws_iam_role", "task"), "assume_role_policy", Ref("data.aws_iam_policy_document.ecs_tasks_assume.json"))
	irsa := NestedOne(m.One("data", "aws_iam_policy_document", "irsa_assume"), "statement")
	eq(irsa, "actions", []any{"sts:AssumeRoleWithWebIdentity"})
	eq(NestedOne(irsa, "principals"), "type", "Federated")
	sub := false
	for _, c := range Nested(irsa, "condition") {
		vals, _ := m.Attr(c, "values")
		if v, _ := m.Attr(c, "variable"); v == Expr(`"${var.oidc_provider_url}:sub"`) &&
			reflect.DeepEqual(vals, []any{Expr(`"system:serviceaccount:${var.k8s_namespace}:${var.k8s_service_account}"`)}) {
			sub = true
		}
	}
	if !sub {
		add("the IRSA role must be limited to the chart's ServiceAccount (condition on <oidc>:sub)")
	}

	// ECS service: no surge, circuit breaker, private.
	svc := m.One("resource", "aws_ecs_service", "worker")
	eq(svc, "launch_type", "FARGATE")
	eq(svc, "deployment_maximum_percent", 100.0)
	eq(svc, "deployment_minimum_healthy_percent", Cond{Cond: "var.desired_count > 1", True: 50.0, False: 0.0})
	cb := NestedOne(svc, "deployment_circuit_breaker")
	eq(cb, "enable", true)
	eq(cb, "rollback", true)
	eq(NestedOne(svc, "network_configuration"), "assign_public_ip", false)

	// ECS task: the container as in deploy/ecs/task-definition.json.
	td := m.One("resource", "aws_ecs_task_definition", "worker")
	eq(td, "task_role_arn", Ref("aws_iam_role.task[0].arn"))
	eq(td, "requires_compatibilities", []any{"FARGATE"})
	cd, _ := m.Attr(td, "container_definitions")
	var ctr map[string]any
	if call, ok := cd.(Call); ok && call.Name == "jsonencode" && len(call.Args) == 1 {
		if list, ok := call.Args[0].([]any); ok && len(list) == 1 {
			ctr, _ = list[0].(map[string]any)
		}
	}
	if ctr == nil {
		add("%s: container_definitions must be jsonencode([ {one container} ])", Where(td))
		return p
	}
	checks := []struct {
		path string
		want any
	}{
		{"user", "65532:65532"},
		{"readonlyRootFilesystem", true},
		{"essential", true},
		{"linuxParameters.capabilities.drop", []any{"ALL"}},
		{"stopTimeout", Ref("var.stop_timeout_seconds")},
		{"logConfiguration.logDriver", "awslogs"},
		{"healthCheck.command", toAny(want.HealthCheck)},
	}
	for _, c := range checks {
		if got := dig(ctr, c.path); !reflect.DeepEqual(got, c.want) {
			add("%s: container %s = %#v, want %#v", Where(td), c.path, got, c.want)
		}
	}
	leaseEnv := false
	envs, _ := dig(ctr, "environment").([]any)
	for _, e := range envs {
		if kv, ok := e.(map[string]any); ok && kv["name"] == "MESHGATE_LEASE_TABLES" {
			c, ok := kv["value"].(Call)
			leaseEnv = ok && c.Name == "join" && strings.Contains(fmt.Sprint(c.Args), "local.lease_tables")
		}
	}
	if !leaseEnv {
		add("%s: the container must get MESHGATE_LEASE_TABLES from local.lease_tables, or the worker may use other tables than those created and granted", Where(td))
	}
	stop, _ := m.Attr(m.One("variable", "stop_timeout_seconds"), "default")
	grace, _ := m.Attr(m.One("variable", "shutdown_grace_seconds"), "default")
	if stop != want.ECSStopTimeout {
		add("variable stop_timeout_seconds default %v differs from deploy/ecs/task-definition.json stopTimeout %v", stop, want.ECSStopTimeout)
	}
	if s, ok := stop.(float64); !ok || s <= grace.(float64) {
		add("variable stop_timeout_seconds default %v must exceed shutdown_grace_seconds default %v", stop, grace)
	}
	pre := false
	for _, pc := range Nested(NestedOne(td, "lifecycle"), "precondition") {
		if c, _ := m.Attr(pc, "condition"); c == Expr("var.stop_timeout_seconds > var.shutdown_grace_seconds") {
			pre = true
		}
	}
	if !pre {
		add("%s: a precondition must refuse stop_timeout_seconds <= shutdown_grace_seconds", Where(td))
	}
	return p
}

func validSSE(v any) bool {
	switch v := v.(type) {
	case string:
		return v == "AES256" || v == "aws:kms"
	case Cond:
		return validSSE(v.True) && validSSE(v.False)
	}
	return false
}

func hasStar(v any) bool {
	switch v := v.(type) {
	case string:
		return v == "*"
	case []any:
		for _, x := range v {
			if hasStar(x) {
				return true
			}
		}
	}
	return false
}

func dig(m map[string]any, path string) any {
	var cur any = m
	for _, k := range strings.Split(path, ".") {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[k]
	}
	return cur
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, x := range s {
		out[i] = x
	}
	return out
}

// exprText returns the source of a whole block (for simple textual checks).
func exprText(m *TFModule, b *hclsyntax.Block) string {
	return m.source(b.Range())
}
