# Raw streams (optional: producing domains often own them) and curated streams. Always
# encrypted: with the customer key when kms_key_arn is set, else with the AWS-managed key.

resource "aws_kinesis_stream" "raw" {
  for_each = var.create_raw_streams ? toset(var.raw_streams) : toset([])

  name             = each.value
  retention_period = var.retention_hours
  shard_count      = var.stream_mode == "PROVISIONED" ? var.shard_count : null

  stream_mode_details {
    stream_mode = var.stream_mode
  }

  encryption_type = "KMS"
  kms_key_id      = local.use_kms ? var.kms_key_arn : "alias/aws/kinesis"

  tags = merge(local.tags, { role = "raw" })
}

resource "aws_kinesis_stream" "curated" {
  for_each = toset(var.curated_streams)

  name             = each.value
  retention_period = var.retention_hours
  shard_count      = var.stream_mode == "PROVISIONED" ? var.shard_count : null

  stream_mode_details {
    stream_mode = var.stream_mode
  }

  encryption_type = "KMS"
  kms_key_id      = local.use_kms ? var.kms_key_arn : "alias/aws/kinesis"

  tags = merge(local.tags, { role = "curated" })
}
