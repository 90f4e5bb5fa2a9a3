release_label = "stage:green"
ecr_repository_url = "760097843905.dkr.ecr.eu-west-1.amazonaws.com/uk.ac.wellcome/bags_api"
