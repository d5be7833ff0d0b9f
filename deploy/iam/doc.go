// Package iam holds the worker's least-privilege IAM policy and the code that proves it.
//
// worker-policy.json grants exactly the AWS actions the worker calls, each on the resources it
// calls it on; worker-policy-kms.json is the extra statement for customer-managed KMS keys. Both
// are templates: ${Name} placeholders (Partition, Region, AccountId, RawStream, CuratedStream,
// LeaseTable, QuarantineBucket, QuarantinePrefix, KmsKeyArn) that Render fills in, one resource
// per value when a placeholder has several (one ARN per raw stream, say).
//
// The proof (proof_test.go) runs the real worker end to end against the local emulators with
// MESHGATE_RECORD_AWS_CALLS set; awsclient.Recorder writes every SDK operation called. Compare
// then fails when the policy lacks an action the worker called or grants one it never called.
// Lint checks the shape: Allow only, no "*" action or resource, no action wildcards, every
// resource an ARN of the action's own service.
package iam
