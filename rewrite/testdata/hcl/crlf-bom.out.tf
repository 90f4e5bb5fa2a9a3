# BOM, CRLF line ends and no final newline.
locals {
  image = "public.ecr.aws/y1p3h6z3/bags_api@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	image2 = "public.ecr.aws/y1p3h6z3/ingests_api@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" # pin:ingests_api:ref
}
other = "public.ecr.aws/y1p3h6z3/notifier@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"