variable "namespace" {
  type = string
}

variable "short_namespace" {
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

variable "app_containers" {
  type = map(string)
}

variable "min_capacity" {
  type = number
}

variable "max_capacity" {
  type = number
}
