# A consumer of the module with the proposed change: one whole image string
# per service, which `pin update` rewrites to repo@sha256:... (and the module
# ref to the release's commit, and the sidecars' tags to tag@sha256:...).

module "demo_stack" {
  source = "github.com/wellcomecollection/storage-service.git//demo/terraform/demo_stack?ref=b601f2a"

  namespace       = "weco-demo"
  short_namespace = "wd"

  image_overrides = {
    bags_api           = "public.ecr.aws/y1p3h6z3/bags_api:ref.6a52d4926819ddc090da5cd51144db0d08d693d2"
    ingests_api        = "public.ecr.aws/y1p3h6z3/ingests_api:ref.6a52d4926819ddc090da5cd51144db0d08d693d2"
    ingests_indexer    = "public.ecr.aws/y1p3h6z3/ingests_indexer:ref.6a52d4926819ddc090da5cd51144db0d08d693d2"
    ingests_tracker    = "public.ecr.aws/y1p3h6z3/ingests_tracker:ref.6a52d4926819ddc090da5cd51144db0d08d693d2"
    ingests_worker     = "public.ecr.aws/y1p3h6z3/ingests_worker:ref.6a52d4926819ddc090da5cd51144db0d08d693d2"
    notifier           = "public.ecr.aws/y1p3h6z3/notifier:ref.6a52d4926819ddc090da5cd51144db0d08d693d2"
    bag_versioner      = "public.ecr.aws/y1p3h6z3/bag_versioner:ref.6a52d4926819ddc090da5cd51144db0d08d693d2"
    bag_register       = "public.ecr.aws/y1p3h6z3/bag_register:ref.6a52d4926819ddc090da5cd51144db0d08d693d2"
    bag_tagger         = "public.ecr.aws/y1p3h6z3/bag_tagger:ref.6a52d4926819ddc090da5cd51144db0d08d693d2"
    bag_replicator     = "public.ecr.aws/y1p3h6z3/bag_replicator:ref.6a52d4926819ddc090da5cd51144db0d08d693d2"
    bag_root_finder    = "public.ecr.aws/y1p3h6z3/bag_root_finder:ref.6a52d4926819ddc090da5cd51144db0d08d693d2"
    bag_tracker        = "public.ecr.aws/y1p3h6z3/bag_tracker:ref.6a52d4926819ddc090da5cd51144db0d08d693d2"
    bag_verifier       = "public.ecr.aws/y1p3h6z3/bag_verifier:ref.6a52d4926819ddc090da5cd51144db0d08d693d2"
    bag_unpacker       = "public.ecr.aws/y1p3h6z3/bag_unpacker:ref.6a52d4926819ddc090da5cd51144db0d08d693d2"
    bag_indexer        = "public.ecr.aws/y1p3h6z3/bag_indexer:ref.6a52d4926819ddc090da5cd51144db0d08d693d2"
    file_finder        = "public.ecr.aws/y1p3h6z3/file_finder:ref.6a52d4926819ddc090da5cd51144db0d08d693d2"
    file_indexer       = "public.ecr.aws/y1p3h6z3/file_indexer:ref.6a52d4926819ddc090da5cd51144db0d08d693d2"
    replica_aggregator = "public.ecr.aws/y1p3h6z3/replica_aggregator:ref.6a52d4926819ddc090da5cd51144db0d08d693d2"
  }

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
}
