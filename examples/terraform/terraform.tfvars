# Settings for this installation of the storage service.
namespace  = "weco-dams-prototype"
aws_region = "eu-west-1"

# Sidecars. Wellcome tags these by git commit; `pin update` replaces the tag
# with the digest of the release we follow.
logging_image = "public.ecr.aws/l7a1d1z4/fluentbit:latest"
nginx_image   = "public.ecr.aws/l7a1d1z4/nginx_apigw:latest"

min_capacity = 0
max_capacity = 3
