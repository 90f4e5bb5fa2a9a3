# BOM, CRLF line ends and no final newline.
locals {
  image = "public.ecr.aws/y1p3h6z3/bags_api:latest"
	image2 = "public.ecr.aws/y1p3h6z3/ingests_api:latest" # pin:ingests_api:ref
}
other = "public.ecr.aws/y1p3h6z3/notifier:latest"