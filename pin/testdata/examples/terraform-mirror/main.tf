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
    bags_api    = "123456789012.dkr.ecr.eu-west-2.amazonaws.com/storage/bags_api@sha256:6d6131ed9b416668bf9829dfd4af9800f1a27367b757422630e32ace85086d25"
    ingests_api = "123456789012.dkr.ecr.eu-west-2.amazonaws.com/storage/ingests_api@sha256:2a3bf5da54e53ae9a7e2654d2573740d931bb03392a6395faf2617574e1db7ba"

    # Ingest tracking
    ingests_indexer = "123456789012.dkr.ecr.eu-west-2.amazonaws.com/storage/ingests_indexer@sha256:aa80e859fbfea68df8f922fa776cccd800e6eaab143799a60ea4ba2f4a991c36"
    ingests_tracker = "123456789012.dkr.ecr.eu-west-2.amazonaws.com/storage/ingests_tracker@sha256:24b6e72b36293e93799f0ae9c963a5f53a4ba56ca7af848c2dd256f3395955a2"
    ingests_worker  = "123456789012.dkr.ecr.eu-west-2.amazonaws.com/storage/ingests_worker@sha256:7a8fdcf88f0c1f8fcbee1fc6dc7f7b42a359ac5a1b893183977c76b9435bc9c8"
    notifier        = "123456789012.dkr.ecr.eu-west-2.amazonaws.com/storage/notifier@sha256:c9e4b6f8c6078fcf1552956eb53d3323f944d16f0d11362e410eac5fadc6ae8a"

    # The bag pipeline, in the order a bag passes through it
    bag_unpacker       = "123456789012.dkr.ecr.eu-west-2.amazonaws.com/storage/bag_unpacker@sha256:620e6744173c57d62b189e1608812587bb9435bdf34243459dbe7f0c84c8bb28"
    bag_root_finder    = "123456789012.dkr.ecr.eu-west-2.amazonaws.com/storage/bag_root_finder@sha256:6b8edfde3739a106d98ac9abc02d3f15da0f4ddc792463bb4caed98760b27375"
    bag_verifier       = "123456789012.dkr.ecr.eu-west-2.amazonaws.com/storage/bag_verifier@sha256:106d866c7c4b8910356099c2f22a3298b814787cabd190de3a70855d7034bbf2"
    bag_versioner      = "123456789012.dkr.ecr.eu-west-2.amazonaws.com/storage/bag_versioner@sha256:7adb3f8a91596b164a10895e85ec05401a4a63def3b9f43d84cc341397c0050d"
    bag_replicator     = "123456789012.dkr.ecr.eu-west-2.amazonaws.com/storage/bag_replicator@sha256:17080c7c9b5720bccce7f8e1eb60296799255c7f1b6cfad29071aba22b0d8a82"
    replica_aggregator = "123456789012.dkr.ecr.eu-west-2.amazonaws.com/storage/replica_aggregator@sha256:aeba75ec39c9ded4eddaa05ebf940ae9ab2cd67e5e1f538be6b4a584b383950c"
    bag_register       = "123456789012.dkr.ecr.eu-west-2.amazonaws.com/storage/bag_register@sha256:b93d7206defc30500592e34d3624696fcfe7e3c5d61ec0257f6a3331c870271b"
    bag_tagger         = "123456789012.dkr.ecr.eu-west-2.amazonaws.com/storage/bag_tagger@sha256:8510533b194f1f03a7376efa120c66a991d7b1150f78cd45ae2ee32e732ac5e6"
    bag_tracker        = "123456789012.dkr.ecr.eu-west-2.amazonaws.com/storage/bag_tracker@sha256:ac1563f4070631ef21a80ee11394c1b348969568bee724ea4743e274b23bf295"

    # Search indexes
    bag_indexer  = "123456789012.dkr.ecr.eu-west-2.amazonaws.com/storage/bag_indexer@sha256:b2a06a6f6b0a3b776aff03ec69d82708067874757621f446abb2fa0f708c3cca"
    file_finder  = "123456789012.dkr.ecr.eu-west-2.amazonaws.com/storage/file_finder@sha256:39a54cea78631331fded9add034ec999a8e4043ab040401bdd196eb55d42d1a3"
    file_indexer = "123456789012.dkr.ecr.eu-west-2.amazonaws.com/storage/file_indexer@sha256:c5c1a161690b5ccfa94223f1f0de7ed631e378b7bff7b2195b93f657477ccd50"
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
