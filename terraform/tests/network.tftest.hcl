# terraform test: MWAA's network as docs/adr/0002-mwaa-network-rules.md decides it. The security group
# keeps AWS's self-referencing rule but opens outbound only HTTPS to anywhere and PostgreSQL to the
# pipeline database; production runs one NAT gateway per Availability Zone. Plan only.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks"
}

# The ephemeral password's provider, as in defaults.tftest.hcl (scripts/check_terraform.sh points it at
# the loopback stub).
provider "aws" {
  alias                       = "password"
  region                      = "eu-west-1"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  max_retries                 = 5
}

# Known IDs, so that plan-only assertions can follow references between resources.
override_resource {
  target          = aws_security_group.mwaa
  override_during = plan
  values          = { id = "sg-0mwaa" }
}

override_resource {
  target          = aws_security_group.db
  override_during = plan
  values          = { id = "sg-0database" }
}

override_resource {
  target          = aws_subnet.public[0]
  override_during = plan
  values          = { id = "subnet-0public-a" }
}

override_resource {
  target          = aws_subnet.public[1]
  override_during = plan
  values          = { id = "subnet-0public-b" }
}

override_resource {
  target          = aws_subnet.private[0]
  override_during = plan
  values          = { id = "subnet-0private-a" }
}

override_resource {
  target          = aws_subnet.private[1]
  override_during = plan
  values          = { id = "subnet-0private-b" }
}

override_resource {
  target          = aws_route_table.private[0]
  override_during = plan
  values          = { id = "rtb-0private-a" }
}

override_resource {
  target          = aws_route_table.private[1]
  override_during = plan
  values          = { id = "rtb-0private-b" }
}

override_resource {
  target          = aws_nat_gateway.this[0]
  override_during = plan
  values          = { id = "nat-0a" }
}

override_resource {
  target          = aws_nat_gateway.this[1]
  override_during = plan
  values          = { id = "nat-0b" }
}

run "mwaa_security_group_follows_the_adr" {
  command = plan

  assert {
    condition     = aws_mwaa_environment.this.network_configuration[0].security_group_ids == toset([aws_security_group.mwaa.id])
    error_message = "MWAA uses exactly the one security group the ADR describes."
  }

  assert {
    condition = alltrue([
      for rule in [aws_vpc_security_group_ingress_rule.mwaa_self, aws_vpc_security_group_egress_rule.mwaa_self] :
      rule.security_group_id == aws_security_group.mwaa.id && rule.referenced_security_group_id == aws_security_group.mwaa.id && rule.ip_protocol == "-1"
    ])
    error_message = "AWS's self-referencing rule: all traffic in and out between members of the group (the metadata database and web server endpoints are members)."
  }

  assert {
    condition = (
      aws_vpc_security_group_egress_rule.mwaa_https.security_group_id == aws_security_group.mwaa.id
      && aws_vpc_security_group_egress_rule.mwaa_https.cidr_ipv4 == "0.0.0.0/0"
      && aws_vpc_security_group_egress_rule.mwaa_https.ip_protocol == "tcp"
      && aws_vpc_security_group_egress_rule.mwaa_https.from_port == 443
      && aws_vpc_security_group_egress_rule.mwaa_https.to_port == 443
    )
    error_message = "Every endpoint outside the group (SQS, CloudWatch, S3, KMS, ECR, Secrets Manager, SNS, MWAA's APIs, GitHub) is HTTPS on 443."
  }

  assert {
    condition = (
      aws_vpc_security_group_egress_rule.mwaa_db.security_group_id == aws_security_group.mwaa.id
      && aws_vpc_security_group_egress_rule.mwaa_db.referenced_security_group_id == aws_security_group.db.id
      && aws_vpc_security_group_egress_rule.mwaa_db.ip_protocol == "tcp"
      && aws_vpc_security_group_egress_rule.mwaa_db.from_port == 5432
      && aws_vpc_security_group_egress_rule.mwaa_db.to_port == 5432
    )
    error_message = "PostgreSQL leaves the group only for the pipeline database's security group."
  }

  assert {
    condition = (
      aws_vpc_security_group_ingress_rule.db_from_mwaa.security_group_id == aws_security_group.db.id
      && aws_vpc_security_group_ingress_rule.db_from_mwaa.referenced_security_group_id == aws_security_group.mwaa.id
      && aws_vpc_security_group_ingress_rule.db_from_mwaa.from_port == 5432
    )
    error_message = "The pipeline database admits MWAA's group on 5432, the other end of mwaa_db."
  }

  assert {
    condition     = length(aws_vpc_security_group_ingress_rule.mwaa_webserver) == 0
    error_message = "Without mwaa_webserver_allowed_cidrs nothing outside the group reaches the PRIVATE_ONLY web server."
  }

  # S3 (the DAG sync, plugins.zip, requirements.txt, staging) stays on AWS's network through the gateway
  # endpoint, whose prefix list the 443 rule covers.
  assert {
    condition     = aws_vpc_endpoint.s3.vpc_endpoint_type == "Gateway" && toset(aws_vpc_endpoint.s3.route_table_ids) == toset(aws_route_table.private[*].id)
    error_message = "Both private route tables reach S3 through the gateway endpoint."
  }
}

# The guide's production layout: two NAT gateways, each private subnet leaving through the one in its
# own Availability Zone, so that losing a zone leaves the other zone's workers their route out.
run "production_has_one_nat_gateway_per_availability_zone" {
  command = plan

  variables {
    one_nat_gateway_per_az = true
  }

  assert {
    condition     = length(aws_nat_gateway.this) == 2 && aws_nat_gateway.this[0].id != aws_nat_gateway.this[1].id
    error_message = "one_nat_gateway_per_az = true creates two NAT gateways."
  }

  assert {
    condition = alltrue([
      for index in range(2) :
      aws_nat_gateway.this[index].subnet_id == aws_subnet.public[index].id
      && aws_subnet.public[index].availability_zone == aws_subnet.private[index].availability_zone
      && aws_route.private_nat[index].route_table_id == aws_route_table.private[index].id
      && aws_route.private_nat[index].nat_gateway_id == aws_nat_gateway.this[index].id
      && aws_route_table_association.private[index].subnet_id == aws_subnet.private[index].id
    ])
    error_message = "Each private subnet's default route must go through the NAT gateway in its own Availability Zone."
  }
}

run "development_shares_one_nat_gateway" {
  command = plan

  assert {
    condition     = length(aws_nat_gateway.this) == 1 && alltrue([for route in aws_route.private_nat : route.nat_gateway_id == aws_nat_gateway.this[0].id])
    error_message = "By default both private subnets leave through one NAT gateway (cheaper; the ADR says what it risks)."
  }
}
