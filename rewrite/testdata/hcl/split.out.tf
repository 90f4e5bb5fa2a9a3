module "api" {
  source     = "./modules/ecs_task"
  repository = "public.ecr.aws/y1p3h6z3/bags_api"
  image_tag  = "latest"
}

module "api2" {
  image = "public.ecr.aws/y1p3h6z3/bags_api@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
}
