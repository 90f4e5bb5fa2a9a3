variable "container_image" {
  type = string
}

variable "nginx_image" {
  type    = string
  default = "public.ecr.aws/l7a1d1z4/nginx_apigw:latest"
}

variable "log_router_image" {
  default = "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.0"
}

resource "aws_ecs_task_definition" "task" {
  family = var.service_name
  container_definitions = jsonencode([
    { name = "app", image = var.container_image, essential = true },
    { name = "log_router", image = var.log_router_image, firelensConfiguration = { type = "fluentbit" } },
  ])
}

resource "aws_cloudwatch_log_group" "logs" {
  name = "ecs/${var.service_name}"
}

resource "aws_appautoscaling_target" "t" {
  resource_id        = "service/storage:${var.service_name}"
  scalable_dimension = "ecs:service:DesiredCount"
  service_namespace  = "ecs"
}
