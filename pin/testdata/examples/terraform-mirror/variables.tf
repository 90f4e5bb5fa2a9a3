variable "namespace" {
  type        = string
  description = "Prefix for every resource name, e.g. weco-dams-prototype"
}

variable "aws_region" {
  type    = string
  default = "eu-west-1"
}

variable "logging_image" {
  type        = string
  description = "The fluentbit log router that runs beside every task (pinned by pin update)"
}

variable "nginx_image" {
  type        = string
  description = "The nginx API gateway sidecar in front of the APIs (pinned by pin update)"
}

variable "min_capacity" {
  type    = number
  default = 0
}

variable "max_capacity" {
  type    = number
  default = 3
}
