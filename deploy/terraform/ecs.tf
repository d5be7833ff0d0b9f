# A Fargate service running the worker: the same container settings as deploy/ecs/task-definition.json
# (CI checks the security-relevant ones here too). Contracts are baked into the image at /contracts,
# or read from var.contracts_s3_uri.

resource "aws_cloudwatch_log_group" "worker" {
  count = var.create_ecs_service ? 1 : 0

  name              = "/ecs/${var.application}"
  retention_in_days = var.log_retention_days
  tags              = local.tags
}

resource "aws_ecs_task_definition" "worker" {
  count = var.create_ecs_service ? 1 : 0

  family                   = var.application
  task_role_arn            = aws_iam_role.task[0].arn
  execution_role_arn       = aws_iam_role.execution[0].arn
  network_mode             = "awsvpc"
  requires_compatibilities = ["FARGATE"]
  cpu                      = var.task_cpu
  memory                   = var.task_memory

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  container_definitions = jsonencode([
    {
      name                   = "meshgate"
      image                  = var.image
      essential              = true
      command                = ["run"]
      user                   = "65532:65532"
      readonlyRootFilesystem = true
      linuxParameters = {
        capabilities = { drop = ["ALL"] }
      }
      environment = [
        { name = "MESHGATE_APPLICATION", value = var.application },
        { name = "MESHGATE_REGION", value = local.region },
        { name = "MESHGATE_STREAMS", value = join(",", var.raw_streams) },
        { name = "MESHGATE_LEASE_TABLES", value = join(",", [for s, t in local.lease_tables : "${s}=${t}"]) },
        { name = "MESHGATE_CONTRACTS", value = local.use_s3_contracts ? var.contracts_s3_uri : "/contracts" },
        { name = "MESHGATE_QUARANTINE_BUCKET", value = aws_s3_bucket.quarantine.bucket },
        { name = "MESHGATE_QUARANTINE_PREFIX", value = var.quarantine_prefix },
        { name = "MESHGATE_QUARANTINE_KMS_KEY_ID", value = var.kms_key_arn },
        { name = "MESHGATE_LISTEN", value = "0.0.0.0:9108" },
        { name = "MESHGATE_SHUTDOWN_GRACE", value = "${var.shutdown_grace_seconds}s" },
      ]
      secrets = var.hash_salt_ssm_parameter_arn == "" ? [] : [
        { name = "MESHGATE_HASH_SALT", valueFrom = var.hash_salt_ssm_parameter_arn },
      ]
      portMappings = [
        { name = "http", containerPort = 9108, protocol = "tcp" },
      ]
      healthCheck = {
        command     = ["CMD", "/meshgate", "health", "-q", "-timeout", "3s", "-url", "http://127.0.0.1:9108/healthz"]
        interval    = 15
        timeout     = 5
        retries     = 3
        startPeriod = 30
      }
      stopTimeout = var.stop_timeout_seconds
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.worker[0].name
          awslogs-region        = local.region
          awslogs-stream-prefix = "meshgate"
          mode                  = "non-blocking"
          max-buffer-size       = "4m"
        }
      }
    },
  ])

  tags = local.tags

  lifecycle {
    precondition {
      condition     = var.stop_timeout_seconds > var.shutdown_grace_seconds
      error_message = "stop_timeout_seconds must exceed shutdown_grace_seconds: ECS would SIGKILL the worker before it checkpointed and released its leases."
    }
    precondition {
      condition     = var.image != "" && var.ecs_cluster_arn != "" && length(var.subnet_ids) > 0
      error_message = "create_ecs_service needs image, ecs_cluster_arn and subnet_ids."
    }
  }
}

resource "aws_ecs_service" "worker" {
  count = var.create_ecs_service ? 1 : 0

  name            = var.application
  cluster         = var.ecs_cluster_arn
  task_definition = aws_ecs_task_definition.worker[0].arn
  desired_count   = var.desired_count
  launch_type     = "FARGATE"

  # No surge (at most desired_count workers compete for leases), one batch of old tasks at a
  # time. ECS rounds the minimum up, so a single task needs 0 to be replaceable at all.
  deployment_maximum_percent         = 100
  deployment_minimum_healthy_percent = var.desired_count > 1 ? 50 : 0

  deployment_controller {
    type = "ECS"
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = var.security_group_ids
    assign_public_ip = false
  }

  propagate_tags          = "SERVICE"
  enable_ecs_managed_tags = true
  enable_execute_command  = false

  tags = local.tags
}
