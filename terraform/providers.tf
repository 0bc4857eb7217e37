provider "aws" {
  region = var.aws_region

  # One tagging scheme for every taggable resource; resource-level tags only add a Name.
  default_tags {
    tags = local.tags
  }
}

provider "aws" {
  alias  = "password"
  region = var.aws_region
}
