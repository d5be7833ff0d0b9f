// Package iam holds the worker's least-privilege IAM policy and the code that proves it.
//
// worker-policy.json grants exactly the AWS actions the worker calls, each on the resources it
// calls it on; worker-policy-kms.json is the extra statement for customer-managed KMS keys and
// worker-policy-contracts-s3.json the extra statements for contracts read from
// s3://bucket/prefix (list the prefix, read below it). All are templates: ${Name} placeholders
// (Partition, Region, AccountId, RawStream, CuratedStream, LeaseTable, QuarantineBucket,
// QuarantinePrefix, KmsKeyArn, ContractsBucket, ContractsPrefix) that Render fills in, one
// resource per value when a placeholder has several (one ARN per raw stream, say).
// VarsFromConfig derives the values a worker configuration determines (the lease tables,
// pinned or derived, exactly as the worker names them).
//
// The proof (proof_test.go) runs the real worker end to end against the local emulators with
// MESHGATE_RECORD_AWS_CALLS set; awsclient.Recorder writes every SDK operation called. Compare
// then fails when the policy lacks an action the worker called or grants one it never called. A
// second run reads its contracts from S3: what it calls beyond worker-policy.json must be exactly
// worker-policy-contracts-s3.json.
// Lint checks the shape: Allow only, no "*" action or resource, no action wildcards, every
// resource an ARN of the action's own service.
package iam
