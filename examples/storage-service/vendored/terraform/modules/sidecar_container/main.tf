variable "name" {
  type = string
}

variable "image" {
  type = string
}

output "container_definition" {
  value = {
    name      = var.name
    image     = var.image
    essential = true
  }
}
