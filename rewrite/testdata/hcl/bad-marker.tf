locals {
  a = "x"
  tag = "latest" # pin:bags_api:version
}
