# ---- naming ---------------------------------------------------------------------------------

variable "application" {
  description = "KCL application name (worker config `application`). Lease tables are named after it: the name itself for one raw stream, \"<application>-<stream>\" for each of several (unless pinned in lease_tables)."
  type        = string
  default     = "meshgate"

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.-]{3,200}$", var.application))
    error_message = "application must be 3..200 of a-z A-Z 0-9 _ . - (it names DynamoDB tables)."
  }
}

variable "lease_tables" {
  description = "Pinned lease table per raw stream (the worker's streams[].leaseTable), e.g. { orders-raw = \"meshgate\" }. Streams left out get the derived name. Pin the first stream's table to the application name before adding a second raw stream: otherwise its table is renamed and its shards restart from initialPosition."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for t in values(var.lease_tables) : can(regex("^[a-zA-Z0-9_.-]{3,255}$", t))])
    error_message = "lease_tables: table names must be 3..255 of a-z A-Z 0-9 _ . -."
  }
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}

# ---- streams --------------------------------------------------------------------------------

variable "raw_streams" {
  description = "Raw source streams the workers read (one contract judges each)."
  type        = list(string)

  validation {
    condition     = length(var.raw_streams) > 0 && alltrue([for s in var.raw_streams : can(regex("^[a-zA-Z0-9_.-]{1,128}$", s))])
    error_message = "raw_streams: at least one stream; names of 1..128 of a-z A-Z 0-9 _ . -."
  }
}

variable "curated_streams" {
  description = "Curated streams the workers write good events to (the contracts' `curated`)."
  type        = list(string)

  validation {
    condition     = length(var.curated_streams) > 0 && alltrue([for s in var.curated_streams : can(regex("^[a-zA-Z0-9_.-]{1,128}$", s))])
    error_message = "curated_streams: at least one stream; names of 1..128 of a-z A-Z 0-9 _ . -."
  }
}

variable "create_raw_streams" {
  description = "Create the raw streams here. Set false when the producing domains own them; the IAM policy still grants read access to them by name."
  type        = bool
  default     = true
}

variable "stream_mode" {
  description = "Capacity mode of the streams this module creates: ON_DEMAND or PROVISIONED."
  type        = string
  default     = "ON_DEMAND"

  validation {
    condition     = contains(["ON_DEMAND", "PROVISIONED"], var.stream_mode)
    error_message = "stream_mode must be ON_DEMAND or PROVISIONED."
  }
}

variable "shard_count" {
  description = "Shards per stream when stream_mode is PROVISIONED (ignored for ON_DEMAND)."
  type        = number
  default     = 4

  validation {
    condition     = var.shard_count >= 1
    error_message = "shard_count must be at least 1."
  }
}

variable "retention_hours" {
  description = "Stream retention in hours (24..8760). Longer retention gives more time to fix a stuck worker before records expire unprocessed."
  type        = number
  default     = 24

  validation {
    condition     = var.retention_hours >= 24 && var.retention_hours <= 8760
    error_message = "retention_hours must be 24..8760."
  }
}

# ---- contracts ------------------------------------------------------------------------------

variable "contracts_s3_uri" {
  description = "Read the contracts from s3://bucket/prefix (worker config `contracts`, hot-reloaded by ETag) instead of the image's /contracts. Adds deploy/iam/worker-policy-contracts-s3.json to the worker policy: s3:ListBucket on the bucket limited to the prefix, s3:GetObject below it. Empty: contracts from the image, no S3 read permission."
  type        = string
  default     = ""

  validation {
    condition     = var.contracts_s3_uri == "" || can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/[A-Za-z0-9!_.'()=/-]*[A-Za-z0-9!_.'()=-]/?$", var.contracts_s3_uri))
    error_message = "contracts_s3_uri must be empty or s3://bucket/prefix with a non-empty prefix (no wildcards): the worker may read only below it."
  }
}

# ---- encryption -----------------------------------------------------------------------------

variable "kms_key_arn" {
  description = "Customer-managed KMS key for the streams and the quarantine bucket. Empty: streams use the AWS-managed key alias/aws/kinesis and the bucket SSE-S3 (AES256); the worker then needs no KMS permission."
  type        = string
  default     = ""

  validation {
    condition     = var.kms_key_arn == "" || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be empty or a KMS key ARN (arn:...:kms:REGION:ACCOUNT:key/ID)."
  }
}

# ---- quarantine -----------------------------------------------------------------------------

variable "quarantine_bucket_name" {
  description = "Name of the quarantine bucket (globally unique)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.quarantine_bucket_name))
    error_message = "quarantine_bucket_name must be a valid S3 bucket name."
  }
}

variable "quarantine_prefix" {
  description = "Key prefix of quarantine objects (worker config quarantine.prefix). The worker may write only below it."
  type        = string
  default     = "quarantine"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()=-]+(/[A-Za-z0-9!_.*'()=-]+)*$", var.quarantine_prefix)) && !strcontains(var.quarantine_prefix, "*")
    error_message = "quarantine_prefix must be non-empty, without leading or trailing / and without *."
  }
}

variable "quarantine_expiration_days" {
  description = "Days after which quarantine objects expire (lifecycle rule). Keep them long enough to fix and replay bad events."
  type        = number
  default     = 90

  validation {
    condition     = var.quarantine_expiration_days >= 1
    error_message = "quarantine_expiration_days must be at least 1."
  }
}

# ---- ECS ------------------------------------------------------------------------------------

variable "create_ecs_service" {
  description = "Create the Fargate task definition, service, log group and task roles."
  type        = bool
  default     = true
}

variable "ecs_cluster_arn" {
  description = "ECS cluster to run the service in (required when create_ecs_service)."
  type        = string
  default     = ""
}

variable "subnet_ids" {
  description = "Private subnets for the tasks (they need a route to Kinesis, DynamoDB, S3 and CloudWatch Logs: NAT or VPC endpoints)."
  type        = list(string)
  default     = []
}

variable "security_group_ids" {
  description = "Security groups for the tasks. The worker only makes outbound HTTPS calls; allow inbound 9108 only from your Prometheus."
  type        = list(string)
  default     = []
}

variable "image" {
  description = "Image with the contracts at /contracts (built FROM the meshgate image, see deploy/docker/Dockerfile.contracts)."
  type        = string
  default     = ""
}

variable "desired_count" {
  description = "Number of worker tasks. Sizing: see benchmarks/README.md."
  type        = number
  default     = 2

  validation {
    condition     = var.desired_count >= 1
    error_message = "desired_count must be at least 1."
  }
}

variable "task_cpu" {
  description = "Fargate task CPU units. A starting point, not a measured recommendation: size from benchmarks/README.md."
  type        = number
  default     = 512
}

variable "task_memory" {
  description = "Fargate task memory (MiB)."
  type        = number
  default     = 1024
}

variable "shutdown_grace_seconds" {
  description = "Worker shutdownGrace: time to flush in-flight batches, checkpoint and release leases after SIGTERM."
  type        = number
  default     = 25
}

variable "stop_timeout_seconds" {
  description = "ECS stopTimeout: SIGKILL after this many seconds. Must exceed shutdown_grace_seconds; Fargate allows at most 120."
  type        = number
  default     = 40

  validation {
    condition     = var.stop_timeout_seconds >= 2 && var.stop_timeout_seconds <= 120
    error_message = "stop_timeout_seconds must be 2..120 (the Fargate maximum)."
  }
}

variable "log_retention_days" {
  description = "CloudWatch Logs retention of the worker logs."
  type        = number
  default     = 30
}

variable "hash_salt_ssm_parameter_arn" {
  description = "Optional SSM parameter (SecureString) holding the salt of the `hash` enrichment; injected as MESHGATE_HASH_SALT by the execution role."
  type        = string
  default     = ""
}

# ---- EKS (IRSA) -----------------------------------------------------------------------------

variable "create_irsa_role" {
  description = "Create an IAM role for the Helm chart's ServiceAccount (EKS IRSA)."
  type        = bool
  default     = false
}

variable "oidc_provider_arn" {
  description = "ARN of the EKS cluster's IAM OIDC provider (required when create_irsa_role)."
  type        = string
  default     = ""
}

variable "oidc_provider_url" {
  description = "Issuer URL of the EKS cluster's OIDC provider, without https:// (e.g. oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE)."
  type        = string
  default     = ""
}

variable "k8s_namespace" {
  description = "Namespace of the meshgate release."
  type        = string
  default     = "meshgate"
}

variable "k8s_service_account" {
  description = "ServiceAccount name of the meshgate release (the chart's default is the release full name)."
  type        = string
  default     = "meshgate"
}
