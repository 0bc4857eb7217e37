terraform {
  # 1.11: write-only arguments (password_wo, secret_string_wo) and ephemeral resources keep the
  # database password out of the plan and the state. (1.9 was already needed for validations that
  # refer to other variables.)
  required_version = ">= 1.11.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.100 is the oldest release checked against every argument used here (write-only
      # password_wo/secret_string_wo, ephemeral aws_secretsmanager_random_password,
      # aws_quicksight_vpc_connection, data source credentials.secret_arn); 6.x works unchanged.
      # .terraform.lock.hcl pins the exact version `terraform init` installs.
      version = ">= 5.100, < 7.0"
    }
  }
}
