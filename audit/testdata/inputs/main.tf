module "stack" {
  source = "./stack"

  bags_api_image    = "public.ecr.aws/y1p3h6z3/bags_api@sha256:8f662bd49ae8a03ec6da1bfb44d6121c301c545fe8c9904e96d01b426436494f"
  ingests_api_image = "public.ecr.aws/y1p3h6z3/ingests_api:env.prod"
  notifier_image    = "public.ecr.aws/y1p3h6z3/notifier@sha256:5f390ce62f92b63a6522a81f69e58258e0c9d43e3c899924c87762ed05ea3085"
  nginx_image       = "public.ecr.aws/l7a1d1z4/nginx_apigw:ref.3f2b8a1c9d0e4f5a6b7c8d9e0f1a2b3c4d5e6f70"
}

resource "aws_ecs_task_definition" "otel" {
  family                = "otel"
  container_definitions = jsonencode([{ name = "collector", image = "docker.io/amazon/aws-otel-collector:v0.40.0" }])
}
