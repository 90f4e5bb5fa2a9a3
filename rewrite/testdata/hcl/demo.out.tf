# The storage service demo: every way a Terraform file holds an image.
#
# A comment that quotes "public.ecr.aws/y1p3h6z3/bags_api:latest" is left alone.

variable "logging_image" {
  type    = string
  default = "public.ecr.aws/l7a1d1z4/fluentbit@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
}

variable "nginx_image" {
	type    = string
	default = "public.ecr.aws/l7a1d1z4/nginx_apigw@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" // tabs before
}

locals {
  registry = "public.ecr.aws/y1p3h6z3"
  tag      = "latest"

  images = {
    bags_api    = "public.ecr.aws/y1p3h6z3/bags_api@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    ingests_api = "public.ecr.aws/y1p3h6z3/ingests_api@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "notifier"  = "public.ecr.aws/y1p3h6z3/notifier@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    nested      = { deep = ["public.ecr.aws/y1p3h6z3/bag_tagger@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "public.ecr.aws/docker/library/redis:7"] }
  }

  # Interpolations: pin warns and leaves them.
  from_vars   = "${local.registry}/bag_unpacker:${local.tag}"
  half_pinned = "public.ecr.aws/y1p3h6z3/bag_verifier:${local.tag}"
  formatted   = format("%s/bag_versioner:%s", local.registry, local.tag)

  # Escapes change the bytes: warn, never rewrite.
  escaped = "public.ecr.aws/y1p3h6z3/bag_tracker:\u006catest"

  # A heredoc mentioning an image is a sentence, not a reference.
  notes = <<EOT
Upgrade public.ecr.aws/y1p3h6z3/bag_register:latest with care.
${local.tag}
EOT

  unrelated = "public.ecr.aws/y1p3h6z3/other_service:latest"
  key_only  = { "public.ecr.aws/y1p3h6z3/bag_indexer:latest" = 1 }
}

resource "aws_ecs_task_definition" "file_finder" {
  family = "file_finder"

  container_definitions = jsonencode([
    {
      name      = "app"
      image     = "public.ecr.aws/y1p3h6z3/file_finder@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      essential = true
    },
    {
      name  = "log_router"
      image = var.logging_image
    },
  ])
}

module "indexer" {
  source = "./modules/ecs_task"
  image  = lower("public.ecr.aws/y1p3h6z3/file_indexer@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
  images = [for s in ["public.ecr.aws/y1p3h6z3/replica_aggregator@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"] : s]
  maybe  = var.enabled ? "public.ecr.aws/y1p3h6z3/bag_root_finder@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" : null
}
