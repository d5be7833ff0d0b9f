output "raw_stream_arns" {
  description = "ARNs of the raw streams the workers read."
  value       = local.raw_stream_arns
}

output "curated_stream_arns" {
  description = "ARNs of the curated streams."
  value       = local.curated_stream_arns
}

output "lease_tables" {
  description = "Lease table per raw stream (worker config: streams[].leaseTable, or derived from application)."
  value       = local.lease_tables
}

output "quarantine_bucket" {
  description = "Quarantine bucket name (worker config quarantine.bucket)."
  value       = aws_s3_bucket.quarantine.bucket
}

output "worker_policy_arn" {
  description = "The worker's least-privilege policy."
  value       = aws_iam_policy.worker.arn
}

output "worker_policy_json" {
  description = "The rendered worker policy document."
  value       = data.aws_iam_policy_document.worker.json
}

output "ecs_task_role_arn" {
  description = "Task role of the Fargate workers."
  value       = var.create_ecs_service ? aws_iam_role.task[0].arn : null
}

output "irsa_role_arn" {
  description = "Role for the Helm chart's serviceAccount.roleArn (EKS IRSA)."
  value       = var.create_irsa_role ? aws_iam_role.irsa[0].arn : null
}

output "ecs_service_name" {
  description = "The Fargate service."
  value       = var.create_ecs_service ? aws_ecs_service.worker[0].name : null
}
