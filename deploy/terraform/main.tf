# meshgate on AWS: the raw and curated Kinesis streams, one DynamoDB lease table per raw stream,
# the quarantine bucket, the worker's least-privilege IAM role(s) and a Fargate service.
# iam.tf grants exactly the actions of deploy/iam/worker-policy.json (CI compares them).

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition = data.aws_partition.current.partition
  region    = data.aws_region.current.name
  account   = data.aws_caller_identity.current.account_id

  use_kms = var.kms_key_arn != ""

  # contracts_s3_uri = "s3://bucket/prefix": what reload.ParseS3URI makes of it.
  use_s3_contracts = var.contracts_s3_uri != ""
  contracts_bucket = split("/", trimprefix(var.contracts_s3_uri, "s3://"))[0]
  contracts_prefix = trim(trimprefix(trimprefix(var.contracts_s3_uri, "s3://"), "${local.contracts_bucket}/"), "/")

  # config.LeaseTable: a stream's pinned name (var.lease_tables, the worker's
  # streams[].leaseTable) or the application name for one stream, "<application>-<stream>" for
  # several. The ECS task gets the whole map (MESHGATE_LEASE_TABLES), so the worker uses
  # exactly the tables created and granted here.
  derived_lease_tables = length(var.raw_streams) == 1 ? { (var.raw_streams[0]) = var.application } : {
    for s in var.raw_streams : s => "${var.application}-${s}"
  }
  lease_tables = { for s in var.raw_streams : s => lookup(var.lease_tables, s, local.derived_lease_tables[s]) }

  raw_stream_arns     = [for s in var.raw_streams : "arn:${local.partition}:kinesis:${local.region}:${local.account}:stream/${s}"]
  curated_stream_arns = [for s in var.curated_streams : "arn:${local.partition}:kinesis:${local.region}:${local.account}:stream/${s}"]
  lease_table_arns    = [for t in values(local.lease_tables) : "arn:${local.partition}:dynamodb:${local.region}:${local.account}:table/${t}"]
  quarantine_objects  = "${aws_s3_bucket.quarantine.arn}/${var.quarantine_prefix}/*"

  tags = merge({ "app.kubernetes.io/name" = "meshgate", application = var.application }, var.tags)
}
