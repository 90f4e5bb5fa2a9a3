# Settings for this installation of the storage service.
namespace  = "weco-dams-prototype"
aws_region = "eu-west-1"

# Sidecars. Wellcome tags these by git commit; `pin update` replaces the tag
# with the digest of the release we follow.
logging_image = "public.ecr.aws/l7a1d1z4/fluentbit@sha256:81a4ee6c7f967a58c3e3f6ce30400a0173e56436ab487d11b71e6dac7a6eecd5"
nginx_image   = "public.ecr.aws/l7a1d1z4/nginx_apigw@sha256:cb2ea7560092e80e60b0ed9704d4cbc9afa49238a8cfda3ef93ad3336b190d94"

min_capacity = 0
max_capacity = 3
