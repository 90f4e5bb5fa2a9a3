# Markers make any quoted value a reference, even when it is not one.
module "replicator" {
  source     = "./modules/ecs_task"
  repository = "public.ecr.aws/y1p3h6z3/bag_replicator" # pin:bag_replicator:repo
  tag        = "1.5.0" # pin:bag_replicator:tag
  digest     = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" // pin:bag_replicator:digest
  mirror     = "public.ecr.aws/y1p3h6z3/bags_api@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" #pin:bags_api:ref
  list       = ["latest", "other"] # pin:ingests_worker:tag
  plain      = "public.ecr.aws/y1p3h6z3/ingests_tracker@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" # a comment, not a marker
  templated  = "${var.tag}" # pin:ingests_indexer:tag
}

# pin:bags_api:tag on a line of its own marks nothing.
count_thing = 3 # pin:bags_api:tag
