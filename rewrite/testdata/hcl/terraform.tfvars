namespace     = "weco-dams-prototype"
logging_image = "public.ecr.aws/l7a1d1z4/fluentbit:0123456789abcdef0123456789abcdef01234567"
nginx_image   = "public.ecr.aws/l7a1d1z4/nginx_apigw:0123456789abcdef0123456789abcdef01234567"
