# Class 8: images in ECS task definitions and image-ish attributes; charts are not images.
variable "image" {
  default = "nginx:1.25"
}

variable "sidecar_image" {
  type    = string
  default = "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable"
}

variable "environment" {
  default = "stage:blue"
}

resource "aws_ecs_task_definition" "bags_api" {
  family = "bags-api"
  container_definitions = jsonencode([
    {
      name      = "app"
      image     = "public.ecr.aws/y1p3h6z3/bags_api:latest"
      essential = true
    },
    {
      name  = "nginx"
      image = "public.ecr.aws/l7a1d1z4/nginx_apigw@sha256:4444444444444444444444444444444444444444444444444444444444444444"
    },
    {
      name  = "log_router"
      image = var.sidecar_image
    },
  ])
}

module "worker" {
  source          = "./modules/service"
  container_image = "amazon/aws-cli:2.15.0"
  extra_images    = ["redis:7", "memcached"]
  command         = "run:worker"
}

resource "helm_release" "redis" {
  name       = "redis"
  repository = "oci://registry-1.docker.io/bitnamicharts"
  chart      = "redis"
  version    = "18.6.1"
}

resource "helm_release" "podinfo" {
  name  = "podinfo"
  chart = "oci://ghcr.io/stefanprodan/charts/podinfo"
}

resource "aws_lambda_function" "fn" {
  function_name = "fn"
  package_type  = "Image"
  image_uri     = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/fn:1.0.0"
}
