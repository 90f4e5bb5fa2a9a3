# demo/terraform/demo_stack/stack.tf with the proposed change: the consumer
# can pass whole image references per service, and the sidecar objects.

module "stack" {
  source = "../../../terraform/modules/stack"

  namespace       = var.namespace
  short_namespace = var.short_namespace

  logging_container = var.logging_container
  nginx_container   = var.nginx_container

  app_containers = {
    container_registry = "public.ecr.aws/y1p3h6z3"
    container_tag      = "ref.6a52d4926819ddc090da5cd51144db0d08d693d2"
  }

  # The change: passed through, empty by default.
  image_overrides = var.image_overrides

  min_capacity = 0
  max_capacity = 3
}

variable "namespace" {
  type = string
}

variable "short_namespace" {
  type = string
}

variable "image_overrides" {
  type    = map(string)
  default = {}
}

# The sidecars, as variables with today's values as defaults.
variable "logging_container" {
  type = object({
    container_registry = string
    container_name     = string
    container_tag      = string
  })
  default = {
    container_registry = "public.ecr.aws/l7a1d1z4"
    container_name     = "fluentbit"
    container_tag      = "8c68706fba97189fc72e3d0844458c7c5dee0bbc"
  }
}

variable "nginx_container" {
  type = object({
    container_registry = string
    container_name     = string
    container_tag      = string
  })
  default = {
    container_registry = "public.ecr.aws/l7a1d1z4"
    container_name     = "nginx_apigw"
    container_tag      = "8c68706fba97189fc72e3d0844458c7c5dee0bbc"
  }
}
