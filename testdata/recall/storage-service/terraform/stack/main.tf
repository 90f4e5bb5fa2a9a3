module "bags_api" {
  source = "./modules/service"

  service_name    = "bags-api"
  container_image = "public.ecr.aws/y1p3h6z3/bags_api:env.prod"
  nginx_image     = "public.ecr.aws/l7a1d1z4/nginx_apigw:env.prod"

  environment = {
    queue_url  = "https://sqs.eu-west-1.amazonaws.com/760097843905/bags"
    es_index   = "storage_bags:v2"
    app_port   = "9001"
  }
  secrets = {
    es_user = "bags_api/es_username"
  }
}

module "notifier" {
  source          = "./modules/service"
  service_name    = "notifier"
  container_image = "public.ecr.aws/y1p3h6z3/notifier:env.prod"
}

data "aws_iam_policy_document" "read_bags" {
  statement {
    actions = [
      "s3:ListBucket",
      "s3:GetObject*",
      "dynamodb:Query",
      "dynamodb:GetItem",
    ]
    resources = [
      "arn:aws:s3:::wellcomecollection-storage",
      "arn:aws:dynamodb:eu-west-1:760097843905:table/vhs-storage-manifests",
    ]
  }
  statement {
    actions   = ["sns:Publish", "sqs:ReceiveMessage", "sqs:DeleteMessage", "kms:Decrypt"]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "aws:PrincipalOrgID"
      values   = ["o-abc123:main"]
    }
  }
}

resource "aws_iam_role" "ecs" {
  name               = "storage-ecs"
  assume_role_policy = <<POLICY
{
  "Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}}]
}
POLICY
}
