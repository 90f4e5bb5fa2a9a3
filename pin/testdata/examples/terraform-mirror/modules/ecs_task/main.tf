# One Fargate task: the app container, a fluentbit log router and, for the
# APIs, an nginx gateway in front of the app. The container definitions are
# built with jsonencode, so every image below is a variable: the strings pin
# manages live in the calling module and in terraform.tfvars.

variable "name" {
  type = string
}

variable "image" {
  type = string
}

variable "cpu" {
  type = number
}

variable "memory" {
  type = number
}

variable "port" {
  type    = number
  default = null
}

variable "logging_image" {
  type = string
}

variable "nginx_image" {
  type    = string
  default = null
}

variable "aws_region" {
  type = string
}

locals {
  log_router = {
    name      = "log_router"
    image     = var.logging_image
    essential = true
    firelensConfiguration = {
      type = "fluentbit"
      options = {
        "config-file-type"  = "file"
        "config-file-value" = "/extra.conf"
      }
    }
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        "awslogs-group"         = "ecs/${var.name}"
        "awslogs-region"        = var.aws_region
        "awslogs-stream-prefix" = "log_router"
      }
    }
  }

  app = {
    name         = "app"
    image        = var.image
    essential    = true
    portMappings = var.port == null ? [] : [{ containerPort = var.port }]
    logConfiguration = {
      logDriver = "awsfirelens"
    }
  }

  nginx = var.nginx_image == null ? [] : [{
    name         = "nginx"
    image        = var.nginx_image
    essential    = true
    portMappings = [{ containerPort = 9000 }]
    environment = [
      { name = "APP_PORT", value = tostring(var.port) },
    ]
    dependsOn = [{ containerName = "app", condition = "START" }]
  }]
}

resource "aws_ecs_task_definition" "task" {
  family                   = var.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory

  container_definitions = jsonencode(concat([local.app, local.log_router], local.nginx))
}

output "arn" {
  value = aws_ecs_task_definition.task.arn
}
