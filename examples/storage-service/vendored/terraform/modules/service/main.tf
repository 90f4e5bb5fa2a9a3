# Copied from the storage-service repository (simplified): a service's task
# definition, with the application and its sidecars.

variable "service_name" {
  type = string
}

variable "container_image" {
  type = string
}

variable "logging_container" {
  type = object({
    container_registry = string
    container_name     = string
    container_tag      = string
  })
}

variable "nginx_container" {
  type = object({
    container_registry = string
    container_name     = string
    container_tag      = string
  })
}

variable "min_capacity" {
  type = number
}

variable "max_capacity" {
  type = number
}

module "log_router" {
  source = "../sidecar_container"

  name  = "log_router"
  image = "${var.logging_container.container_registry}/${var.logging_container.container_name}:${var.logging_container.container_tag}"
}

module "nginx" {
  source = "../sidecar_container"

  name  = "nginx"
  image = "${var.nginx_container.container_registry}/${var.nginx_container.container_name}:${var.nginx_container.container_tag}"
}

resource "aws_ecs_task_definition" "task" {
  family = var.service_name
  container_definitions = jsonencode([
    { name = "app", image = var.container_image, essential = true },
    module.log_router.container_definition,
    module.nginx.container_definition,
  ])
}
