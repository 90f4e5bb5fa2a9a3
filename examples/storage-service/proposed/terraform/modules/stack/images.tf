# terraform/modules/stack/images.tf with the proposed change: an optional
# per-service map of whole image references, merged over the templated one.
# Without overrides every image is exactly what it was; with them, a consumer
# can give each service a digest-pinned reference that pin writes and checks.

locals {
  services = [
    "bags_api",
    "ingests_api",
    "ingests_indexer",
    "ingests_tracker",
    "ingests_worker",
    "notifier",
    "bag_versioner",
    "bag_register",
    "bag_tagger",
    "bag_replicator",
    "bag_root_finder",
    "bag_tracker",
    "bag_verifier",
    "bag_unpacker",
    "bag_indexer",
    "file_finder",
    "file_indexer",
    "replica_aggregator",
  ]

  repo_urls = [for name in local.services : "${var.app_containers["container_registry"]}/${name}:${var.app_containers["container_tag"]}"]

  # The change: overrides win, key by key.
  image_ids = merge(zipmap(local.services, local.repo_urls), var.image_overrides)
}

variable "image_overrides" {
  type        = map(string)
  default     = {}
  description = "Service name => whole image reference (repo@sha256:... or repo:tag@sha256:...), used instead of the registry/name:tag built from app_containers"

  validation {
    condition     = alltrue([for k in keys(var.image_overrides) : contains(local.services, k)])
    error_message = "image_overrides keys must be service names."
  }
}
