# Class 8: IAM actions, ARNs and condition keys are not images.
data "aws_iam_policy_document" "bags" {
  statement {
    actions   = ["s3:PutObject", "s3:GetObject", "dynamodb:GetItem", "sqs:SendMessage"]
    resources = ["arn:aws:s3:::wellcomecollection-storage/*", "${aws_s3_bucket.bags.arn}/*"]
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:aws:sns:eu-west-1:123456789012:notifications"]
    }
  }
}

resource "aws_iam_role" "task" {
  name = "bags-task"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
      Condition = { StringEquals = { "aws:SourceAccount" = "123456789012" } }
    }]
  })
}

resource "aws_iam_role_policy" "logs" {
  role = aws_iam_role.task.id
  policy = jsonencode({
    Statement = [{ Effect = "Allow", Action = ["logs:CreateLogStream", "logs:PutLogEvents", "ecr:GetAuthorizationToken"], Resource = "*" }]
  })
}

locals {
  port_mapping = "8080:80"
  log_group    = "ecs:bags"
}
