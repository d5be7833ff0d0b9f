# The worker's permissions: exactly deploy/iam/worker-policy.json (and worker-policy-kms.json
# when a customer-managed key is used, worker-policy-contracts-s3.json when the contracts come
# from S3), rendered for this module's resources. CI checks that the
# Sids and actions here equal those files. One policy, attached to the ECS task role and/or the
# IRSA role.

data "aws_iam_policy_document" "worker" {
  statement {
    sid    = "ReadRawStreams"
    effect = "Allow"
    actions = [
      "kinesis:GetRecords",
      "kinesis:GetShardIterator",
      "kinesis:ListShards",
    ]
    resources = local.raw_stream_arns
  }

  statement {
    sid       = "WriteCuratedStreams"
    effect    = "Allow"
    actions   = ["kinesis:PutRecords"]
    resources = local.curated_stream_arns
  }

  statement {
    sid    = "LeaseTable"
    effect = "Allow"
    actions = [
      "dynamodb:CreateTable",
      "dynamodb:DeleteItem",
      "dynamodb:DescribeTable",
      "dynamodb:GetItem",
      "dynamodb:Scan",
      "dynamodb:UpdateItem",
    ]
    resources = local.lease_table_arns
  }

  statement {
    sid       = "WriteQuarantine"
    effect    = "Allow"
    actions   = ["s3:PutObject"]
    resources = [local.quarantine_objects]
  }

  # Contracts from S3 only (deploy/iam/worker-policy-contracts-s3.json): list the prefix (the
  # hot reload polls it by ETag) and read the objects below it, nothing else in the bucket.
  dynamic "statement" {
    for_each = local.use_s3_contracts ? [local.contracts_bucket] : []

    content {
      sid       = "ListContracts"
      effect    = "Allow"
      actions   = ["s3:ListBucket"]
      resources = ["arn:${local.partition}:s3:::${statement.value}"]

      condition {
        test     = "StringLike"
        variable = "s3:prefix"
        values   = ["${local.contracts_prefix}/*"]
      }
    }
  }

  dynamic "statement" {
    for_each = local.use_s3_contracts ? [local.contracts_bucket] : []

    content {
      sid       = "ReadContracts"
      effect    = "Allow"
      actions   = ["s3:GetObject"]
      resources = ["arn:${local.partition}:s3:::${statement.value}/${local.contracts_prefix}/*"]
    }
  }

  # Customer-managed key only: decrypt raw records (GetRecords), data keys for curated
  # PutRecords and quarantine PutObject, and only through Kinesis and S3 in this region.
  dynamic "statement" {
    for_each = local.use_kms ? [var.kms_key_arn] : []

    content {
      sid    = "UseDataKeyViaKinesisAndS3"
      effect = "Allow"
      actions = [
        "kms:Decrypt",
        "kms:GenerateDataKey",
      ]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values = [
          "kinesis.${local.region}.amazonaws.com",
          "s3.${local.region}.amazonaws.com",
        ]
      }
    }
  }
}

resource "aws_iam_policy" "worker" {
  name        = "${var.application}-worker"
  description = "meshgate worker: read raw streams, write curated streams and quarantine, own its lease tables."
  policy      = data.aws_iam_policy_document.worker.json
  tags        = local.tags
}

# ---- ECS task role ----------------------------------------------------------------------------

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    # Only tasks of this account may assume it (confused-deputy protection).
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_iam_role" "task" {
  count = var.create_ecs_service ? 1 : 0

  name               = "${var.application}-task"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = local.tags
}

resource "aws_iam_role_policy_attachment" "task_worker" {
  count = var.create_ecs_service ? 1 : 0

  role       = aws_iam_role.task[0].name
  policy_arn = aws_iam_policy.worker.arn
}

# The execution role is ECS's, not the worker's: pull the image, write the log stream, read the
# hash salt parameter.
resource "aws_iam_role" "execution" {
  count = var.create_ecs_service ? 1 : 0

  name               = "${var.application}-execution"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = local.tags
}

resource "aws_iam_role_policy_attachment" "execution" {
  count = var.create_ecs_service ? 1 : 0

  role       = aws_iam_role.execution[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

data "aws_iam_policy_document" "execution_secrets" {
  count = var.create_ecs_service && var.hash_salt_ssm_parameter_arn != "" ? 1 : 0

  statement {
    sid       = "ReadHashSalt"
    effect    = "Allow"
    actions   = ["ssm:GetParameters"]
    resources = [var.hash_salt_ssm_parameter_arn]
  }
}

resource "aws_iam_role_policy" "execution_secrets" {
  count = var.create_ecs_service && var.hash_salt_ssm_parameter_arn != "" ? 1 : 0

  name   = "read-hash-salt"
  role   = aws_iam_role.execution[0].id
  policy = data.aws_iam_policy_document.execution_secrets[0].json
}

# ---- EKS IRSA role ------------------------------------------------------------------------------

data "aws_iam_policy_document" "irsa_assume" {
  count = var.create_irsa_role ? 1 : 0

  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }

    # Only the chart's ServiceAccount in the release namespace.
    condition {
      test     = "StringEquals"
      variable = "${var.oidc_provider_url}:sub"
      values   = ["system:serviceaccount:${var.k8s_namespace}:${var.k8s_service_account}"]
    }

    condition {
      test     = "StringEquals"
      variable = "${var.oidc_provider_url}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "irsa" {
  count = var.create_irsa_role ? 1 : 0

  name               = "${var.application}-irsa"
  assume_role_policy = data.aws_iam_policy_document.irsa_assume[0].json
  tags               = local.tags

  lifecycle {
    precondition {
      condition     = var.oidc_provider_arn != "" && var.oidc_provider_url != "" && !startswith(var.oidc_provider_url, "https://")
      error_message = "create_irsa_role needs oidc_provider_arn and oidc_provider_url (without https://)."
    }
  }
}

resource "aws_iam_role_policy_attachment" "irsa_worker" {
  count = var.create_irsa_role ? 1 : 0

  role       = aws_iam_role.irsa[0].name
  policy_arn = aws_iam_policy.worker.arn
}
