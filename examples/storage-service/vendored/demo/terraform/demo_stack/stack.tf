# Copied from the storage-service repository, demo/terraform/demo_stack: the
# demo's stack, which every consumer runs through the module ref above.

module "stack" {
  source = "../../../terraform/modules/stack"

  namespace       = var.namespace
  short_namespace = var.short_namespace

  logging_container = {
    container_registry = "public.ecr.aws/l7a1d1z4"
    container_name     = "fluentbit"
    container_tag      = "8c68706fba97189fc72e3d0844458c7c5dee0bbc"
  }

  nginx_container = {
    container_registry = "public.ecr.aws/l7a1d1z4"
    container_name     = "nginx_apigw"
    container_tag      = "8c68706fba97189fc72e3d0844458c7c5dee0bbc"
  }

  # One registry and one tag for all 18 applications ("latest" in older
  # versions of the demo).
  app_containers = {
    container_registry = "public.ecr.aws/y1p3h6z3"
    container_tag      = "ref.6a52d4926819ddc090da5cd51144db0d08d693d2"
  }

  min_capacity = 0
  max_capacity = 3
}

variable "namespace" {
  type = string
}

variable "short_namespace" {
  type = string
}
