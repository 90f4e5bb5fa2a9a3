# The storage service demo, deployed on ECS Fargate in one AWS account.
#
# Wellcome's own demo builds every image string inside its stack module as
# "${registry}/${name}:${tag}", from one registry and one tag shared by all
# services. This example instead passes one full image string per service:
# that is what `pin update` needs to give each service its own digest, and
# what lets `pin check` prove in CI that nothing runs a mutable tag.

terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = {
      Project = var.namespace
    }
  }
}

resource "aws_ecs_cluster" "storage" {
  name = "${var.namespace}-storage"
}

module "stack" {
  source = "./stack"

  namespace   = var.namespace
  cluster_arn = aws_ecs_cluster.storage.arn
  aws_region  = var.aws_region

  # One image per service. `pin update` rewrites each string to the digest that
  # the release on our channel pins: "<repository>@sha256:<64 hex>".
  images = {
    # APIs (each runs behind the nginx_apigw sidecar)
    bags_api    = "public.ecr.aws/y1p3h6z3/bags_api:latest"
    ingests_api = "public.ecr.aws/y1p3h6z3/ingests_api:latest"

    # Ingest tracking
    ingests_indexer = "public.ecr.aws/y1p3h6z3/ingests_indexer:latest"
    ingests_tracker = "public.ecr.aws/y1p3h6z3/ingests_tracker:latest"
    ingests_worker  = "public.ecr.aws/y1p3h6z3/ingests_worker:latest"
    notifier        = "public.ecr.aws/y1p3h6z3/notifier:latest"

    # The bag pipeline, in the order a bag passes through it
    bag_unpacker       = "public.ecr.aws/y1p3h6z3/bag_unpacker:latest"
    bag_root_finder    = "public.ecr.aws/y1p3h6z3/bag_root_finder:latest"
    bag_verifier       = "public.ecr.aws/y1p3h6z3/bag_verifier:latest"
    bag_versioner      = "public.ecr.aws/y1p3h6z3/bag_versioner:latest"
    bag_replicator     = "public.ecr.aws/y1p3h6z3/bag_replicator:latest"
    replica_aggregator = "public.ecr.aws/y1p3h6z3/replica_aggregator:latest"
    bag_register       = "public.ecr.aws/y1p3h6z3/bag_register:latest"
    bag_tagger         = "public.ecr.aws/y1p3h6z3/bag_tagger:latest"
    bag_tracker        = "public.ecr.aws/y1p3h6z3/bag_tracker:latest"

    # Search indexes
    bag_indexer  = "public.ecr.aws/y1p3h6z3/bag_indexer:latest"
    file_finder  = "public.ecr.aws/y1p3h6z3/file_finder:latest"
    file_indexer = "public.ecr.aws/y1p3h6z3/file_indexer:latest"
  }

  # The sidecars come from terraform.tfvars, so they can be changed per
  # environment; pin manages them there.
  logging_image = var.logging_image
  nginx_image   = var.nginx_image

  min_capacity = var.min_capacity
  max_capacity = var.max_capacity
}

# Our own session cache, run next to the storage service. Its image is not part
# of a storage-service release, so pin leaves this line exactly as it is.
module "session_cache" {
  source = "./modules/ecs_task"

  name          = "${var.namespace}-session-cache"
  image         = "public.ecr.aws/docker/library/redis:7"
  port          = 6379
  cpu           = 256
  memory        = 512
  logging_image = var.logging_image
  aws_region    = var.aws_region
}

output "task_definitions" {
  value = module.stack.task_definition_arns
}
