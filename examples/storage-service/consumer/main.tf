# An organisation's own configuration, as the storage-service demo's README
# tells it to write one: Wellcome's demo_stack module, called by git ref. The
# module ref is the only version the consumer chooses; every image the stack
# runs is decided inside the module (see ../vendored).

terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}

provider "aws" {
  region = "eu-west-1"
}

module "demo_stack" {
  source = "github.com/wellcomecollection/storage-service.git//demo/terraform/demo_stack?ref=b601f2a"

  namespace       = "weco-demo"
  short_namespace = "wd"
}

# Another product's module, pinned by its own tag: pin leaves it alone.
module "vpc" {
  source = "git::https://github.com/terraform-aws-modules/terraform-aws-vpc.git?ref=v5.8.1"

  name = "storage-demo"
  cidr = "10.0.0.0/16"
}
