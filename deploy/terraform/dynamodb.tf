# One lease/checkpoint table per raw stream, with the schema the worker creates when a table is
# missing (checkpoint package: hash key ShardID, string; on-demand billing). Creating them here
# adds point-in-time recovery and encryption, and avoids the create race at first start.

resource "aws_dynamodb_table" "lease" {
  for_each = local.lease_tables

  name         = each.value
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "ShardID"

  attribute {
    name = "ShardID"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  # The AWS-managed key (aws/dynamodb): lease items hold shard ids, worker ids and sequence
  # numbers, no event data, and the worker needs no KMS permission for it.
  server_side_encryption {
    enabled = true
  }

  deletion_protection_enabled = true

  tags = merge(local.tags, { stream = each.key })

  lifecycle {
    precondition {
      condition     = length(setsubtract(keys(var.lease_tables), var.raw_streams)) == 0 && length(distinct(values(local.lease_tables))) == length(local.lease_tables)
      error_message = "lease_tables may name only raw_streams, and no two streams may share a lease table."
    }
  }
}
