namespace     = "weco-dams-prototype"
logging_image = "public.ecr.aws/l7a1d1z4/fluentbit@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
nginx_image   = "public.ecr.aws/l7a1d1z4/nginx_apigw@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
