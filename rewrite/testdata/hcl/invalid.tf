locals {
  image = "public.ecr.aws/y1p3h6z3/bags_api:latest"
  broken = [
}
