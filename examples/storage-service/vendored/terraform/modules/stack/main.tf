# Copied from the storage-service repository, terraform/modules/stack: one
# service module per application, each given its image from local.image_ids
# and the two sidecar objects.

module "bags_api" {
  source = "../service"

  service_name      = "${var.namespace}-bags-api"
  container_image   = local.image_ids["bags_api"]
  logging_container = var.logging_container
  nginx_container   = var.nginx_container
  min_capacity      = var.min_capacity
  max_capacity      = var.max_capacity
}

module "ingests_api" {
  source = "../service"

  service_name      = "${var.namespace}-ingests-api"
  container_image   = local.image_ids["ingests_api"]
  logging_container = var.logging_container
  nginx_container   = var.nginx_container
  min_capacity      = var.min_capacity
  max_capacity      = var.max_capacity
}

module "ingests_indexer" {
  source = "../service"

  service_name      = "${var.namespace}-ingests-indexer"
  container_image   = local.image_ids["ingests_indexer"]
  logging_container = var.logging_container
  nginx_container   = var.nginx_container
  min_capacity      = var.min_capacity
  max_capacity      = var.max_capacity
}

module "ingests_tracker" {
  source = "../service"

  service_name      = "${var.namespace}-ingests-tracker"
  container_image   = local.image_ids["ingests_tracker"]
  logging_container = var.logging_container
  nginx_container   = var.nginx_container
  min_capacity      = var.min_capacity
  max_capacity      = var.max_capacity
}

module "ingests_worker" {
  source = "../service"

  service_name      = "${var.namespace}-ingests-worker"
  container_image   = local.image_ids["ingests_worker"]
  logging_container = var.logging_container
  nginx_container   = var.nginx_container
  min_capacity      = var.min_capacity
  max_capacity      = var.max_capacity
}

module "notifier" {
  source = "../service"

  service_name      = "${var.namespace}-notifier"
  container_image   = local.image_ids["notifier"]
  logging_container = var.logging_container
  nginx_container   = var.nginx_container
  min_capacity      = var.min_capacity
  max_capacity      = var.max_capacity
}

module "bag_versioner" {
  source = "../service"

  service_name      = "${var.namespace}-bag-versioner"
  container_image   = local.image_ids["bag_versioner"]
  logging_container = var.logging_container
  nginx_container   = var.nginx_container
  min_capacity      = var.min_capacity
  max_capacity      = var.max_capacity
}

module "bag_register" {
  source = "../service"

  service_name      = "${var.namespace}-bag-register"
  container_image   = local.image_ids["bag_register"]
  logging_container = var.logging_container
  nginx_container   = var.nginx_container
  min_capacity      = var.min_capacity
  max_capacity      = var.max_capacity
}

module "bag_tagger" {
  source = "../service"

  service_name      = "${var.namespace}-bag-tagger"
  container_image   = local.image_ids["bag_tagger"]
  logging_container = var.logging_container
  nginx_container   = var.nginx_container
  min_capacity      = var.min_capacity
  max_capacity      = var.max_capacity
}

module "bag_replicator" {
  source = "../service"

  service_name      = "${var.namespace}-bag-replicator"
  container_image   = local.image_ids["bag_replicator"]
  logging_container = var.logging_container
  nginx_container   = var.nginx_container
  min_capacity      = var.min_capacity
  max_capacity      = var.max_capacity
}

module "bag_root_finder" {
  source = "../service"

  service_name      = "${var.namespace}-bag-root-finder"
  container_image   = local.image_ids["bag_root_finder"]
  logging_container = var.logging_container
  nginx_container   = var.nginx_container
  min_capacity      = var.min_capacity
  max_capacity      = var.max_capacity
}

module "bag_tracker" {
  source = "../service"

  service_name      = "${var.namespace}-bag-tracker"
  container_image   = local.image_ids["bag_tracker"]
  logging_container = var.logging_container
  nginx_container   = var.nginx_container
  min_capacity      = var.min_capacity
  max_capacity      = var.max_capacity
}

module "bag_verifier" {
  source = "../service"

  service_name      = "${var.namespace}-bag-verifier"
  container_image   = local.image_ids["bag_verifier"]
  logging_container = var.logging_container
  nginx_container   = var.nginx_container
  min_capacity      = var.min_capacity
  max_capacity      = var.max_capacity
}

module "bag_unpacker" {
  source = "../service"

  service_name      = "${var.namespace}-bag-unpacker"
  container_image   = local.image_ids["bag_unpacker"]
  logging_container = var.logging_container
  nginx_container   = var.nginx_container
  min_capacity      = var.min_capacity
  max_capacity      = var.max_capacity
}

module "bag_indexer" {
  source = "../service"

  service_name      = "${var.namespace}-bag-indexer"
  container_image   = local.image_ids["bag_indexer"]
  logging_container = var.logging_container
  nginx_container   = var.nginx_container
  min_capacity      = var.min_capacity
  max_capacity      = var.max_capacity
}

module "file_finder" {
  source = "../service"

  service_name      = "${var.namespace}-file-finder"
  container_image   = local.image_ids["file_finder"]
  logging_container = var.logging_container
  nginx_container   = var.nginx_container
  min_capacity      = var.min_capacity
  max_capacity      = var.max_capacity
}

module "file_indexer" {
  source = "../service"

  service_name      = "${var.namespace}-file-indexer"
  container_image   = local.image_ids["file_indexer"]
  logging_container = var.logging_container
  nginx_container   = var.nginx_container
  min_capacity      = var.min_capacity
  max_capacity      = var.max_capacity
}

module "replica_aggregator" {
  source = "../service"

  service_name      = "${var.namespace}-replica-aggregator"
  container_image   = local.image_ids["replica_aggregator"]
  logging_container = var.logging_container
  nginx_container   = var.nginx_container
  min_capacity      = var.min_capacity
  max_capacity      = var.max_capacity
}
