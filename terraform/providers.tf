provider "aws" {
  region = var.aws_region

  # One tagging scheme for every taggable resource; resource-level tags only add a Name.
  default_tags {
    tags = local.tags
  }
}

# The same account and Region, used only by ephemeral.aws_secretsmanager_random_password.db
# (database.tf). A configuration of its own because Terraform 1.11's test mocks cannot mock
# ephemeral resources: terraform/tests mock the default provider and give this one a real,
# offline provider instead. Nothing it does is tagged, hence no default_tags.
provider "aws" {
  alias  = "password"
  region = var.aws_region
}
