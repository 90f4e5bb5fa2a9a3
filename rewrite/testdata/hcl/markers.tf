# Markers make any quoted value a reference, even when it is not one.
module "replicator" {
  source     = "./modules/ecs_task"
  repository = "public.ecr.aws/y1p3h6z3/bag_replicator" # pin:bag_replicator:repo
  tag        = "latest" # pin:bag_replicator:tag
  digest     = "" // pin:bag_replicator:digest
  mirror     = "123456789012.dkr.ecr.eu-west-2.amazonaws.com/storage/bags_api:latest" #pin:bags_api:ref
  list       = ["latest", "other"] # pin:ingests_worker:tag
  plain      = "public.ecr.aws/y1p3h6z3/ingests_tracker:latest" # a comment, not a marker
  templated  = "${var.tag}" # pin:ingests_indexer:tag
}

# pin:bags_api:tag on a line of its own marks nothing.
count_thing = 3 # pin:bags_api:tag
