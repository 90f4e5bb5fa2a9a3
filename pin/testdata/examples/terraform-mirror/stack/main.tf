# The storage service: one ECS task definition per service. Images arrive as
# whole strings (repository and tag or digest), never assembled here, so the
# strings in the root module are exactly what ECS pulls.

variable "namespace" {
  type = string
}

variable "cluster_arn" {
  type = string
}

variable "aws_region" {
  type = string
}

variable "images" {
  type        = map(string)
  description = "Service name => image reference (repo:tag or repo@sha256:...)"
}

variable "logging_image" {
  type = string
}

variable "nginx_image" {
  type = string
}

variable "min_capacity" {
  type = number
}

variable "max_capacity" {
  type = number
}

locals {
  # Services that serve HTTP through the API gateway sidecar.
  api_services = toset(["bags_api", "ingests_api"])

  # Larger tasks for the services that read whole bags.
  memory = {
    bag_unpacker   = 4096
    bag_verifier   = 4096
    bag_replicator = 4096
  }
}

module "service" {
  source   = "../modules/ecs_task"
  for_each = var.images

  name          = "${var.namespace}-${replace(each.key, "_", "-")}"
  image         = each.value
  cpu           = 1024
  memory        = lookup(local.memory, each.key, 2048)
  port          = contains(local.api_services, each.key) ? 9001 : null
  nginx_image   = contains(local.api_services, each.key) ? var.nginx_image : null
  logging_image = var.logging_image
  aws_region    = var.aws_region
}

output "task_definition_arns" {
  value = { for name, svc in module.service : name => svc.arn }
}
