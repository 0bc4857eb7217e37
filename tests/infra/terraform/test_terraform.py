"""Static specification of terraform/: what the stack must (and must never) do, read from the HCL.

No terraform binary and no AWS: python-hcl2 parses the configuration (tfconfig.py) and each test
asserts one property of it. checkov (scripts/check_terraform.sh) covers generic misconfigurations;
these tests cover this pipeline's own requirements.

There is deliberately no conftest.py here: the suite's tests import ``conftest`` by name, and a
second conftest module would shadow tests/conftest.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from tfconfig import (
    REPO,
    TERRAFORM_DIR,
    Statement,
    TerraformConfig,
    as_list,
    call_argument,
    hcl_object,
    hcl_regexes,
    unwrap,
)

EXPECTED_CONNECTIONS_PREFIX = "airflow/connections"
EXPECTED_VARIABLES_PREFIX = "airflow/variables"
MWAA_ENVIRONMENT_CLASSES = {"mw1.micro", "mw1.small", "mw1.medium", "mw1.large", "mw1.xlarge", "mw1.2xlarge"}
WHOLE_INTERNET = {"0.0.0.0/0", "::/0"}

# Actions that support no resource-level permissions, so "*" is the only possible resource.
ACTIONS_WITHOUT_RESOURCE_TYPES = {
    "s3:GetAccountPublicAccessBlock",
    "logs:DescribeLogGroups",
    "cloudwatch:PutMetricData",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
}

# Parsed once at import: also drives the parametrized tables below.
_TF = TerraformConfig.load(TERRAFORM_DIR)


@pytest.fixture(scope="module")
def tf() -> TerraformConfig:
    return _TF


def _validation_conditions(tf: TerraformConfig, variable: str) -> list[str]:
    return [unwrap(v["condition"]) for v in as_list(tf.variables[variable].get("validation"))]


def _accepted_by_regex_validation(tf: TerraformConfig, variable: str, value: str) -> bool:
    patterns = [p for c in _validation_conditions(tf, variable) for p in hcl_regexes(c)]
    assert patterns, f"variable {variable} has no regex validation"
    return all(p.search(value) for p in patterns)


def _is_identity_policy(statement: Statement) -> bool:
    return not statement.principals


def _ingress_rules(tf: TerraformConfig) -> list[Any]:
    rules = []
    for name, rule in tf.resources("aws_vpc_security_group_ingress_rule").items():
        cidrs = [rule.get("cidr_ipv4"), rule.get("cidr_ipv6")]
        rules.append(pytest.param(rule, [c for c in cidrs if c], id=f"aws_vpc_security_group_ingress_rule.{name}"))
    for name, rule in tf.resources("aws_security_group_rule").items():
        if rule.get("type") == "ingress":
            cidrs = as_list(rule.get("cidr_blocks")) + as_list(rule.get("ipv6_cidr_blocks"))
            rules.append(pytest.param(rule, cidrs, id=f"aws_security_group_rule.{name}"))
    for kind in ("aws_security_group", "aws_default_security_group"):
        for name, group in tf.resources(kind).items():
            for index, rule in enumerate(as_list(group.get("ingress"))):
                cidrs = as_list(rule.get("cidr_blocks")) + as_list(rule.get("ipv6_cidr_blocks"))
                rules.append(pytest.param(rule, cidrs, id=f"{kind}.{name}.ingress[{index}]"))
    return rules


###############################################################################
# Database
###############################################################################


def test_rds_is_not_publicly_accessible(tf):
    assert tf.resource("aws_db_instance", "this")["publicly_accessible"] is False


def test_rds_storage_is_encrypted_with_the_stack_key(tf):
    db = tf.resource("aws_db_instance", "this")
    assert db["storage_encrypted"] is True
    assert db["kms_key_id"] == "${aws_kms_key.this.arn}"


def test_rds_is_a_current_postgresql_major_version(tf):
    db = tf.resource("aws_db_instance", "this")
    assert db["engine"] == "postgres"
    assert db["engine_version"] == "${var.db_engine_version}"
    default_major = int(tf.variables["db_engine_version"]["default"].split(".")[0])
    assert default_major >= 17


def test_rds_forces_ssl_through_its_parameter_group(tf):
    db = tf.resource("aws_db_instance", "this")
    assert db["parameter_group_name"] == "${aws_db_parameter_group.this.name}"
    parameters = {p["name"]: p["value"] for p in tf.resource("aws_db_parameter_group", "this")["parameter"]}
    assert parameters.get("rds.force_ssl") == "1"


def test_rds_parameter_group_family_follows_the_engine_major_version(tf):
    assert tf.resource("aws_db_parameter_group", "this")["family"] == "${local.rds_postgres_family}"
    assert unwrap(tf.locals["rds_postgres_family"]) == 'postgres${split(".", var.db_engine_version)[0]}'


def test_rds_keeps_seven_to_thirty_five_days_of_backups(tf):
    assert tf.resource("aws_db_instance", "this")["backup_retention_period"] == "${var.db_backup_retention_days}"
    variable = tf.variables["db_backup_retention_days"]
    assert variable["default"] >= 7
    condition = " ".join(_validation_conditions(tf, "db_backup_retention_days"))
    assert "var.db_backup_retention_days >= 7" in condition
    assert "var.db_backup_retention_days <= 35" in condition


def test_rds_deletion_protection_is_on_by_default(tf):
    assert tf.resource("aws_db_instance", "this")["deletion_protection"] == "${var.db_deletion_protection}"
    assert tf.variables["db_deletion_protection"]["default"] is True


def test_rds_multi_az_is_an_option_off_by_default(tf):
    assert tf.resource("aws_db_instance", "this")["multi_az"] == "${var.db_multi_az}"
    assert tf.variables["db_multi_az"]["type"] == "bool"
    assert tf.variables["db_multi_az"]["default"] is False


def test_rds_lives_in_the_private_subnets(tf):
    assert tf.resource("aws_db_instance", "this")["db_subnet_group_name"] == "${aws_db_subnet_group.this.name}"
    assert tf.resource("aws_db_subnet_group", "this")["subnet_ids"] == "${aws_subnet.private[*].id}"


def test_rds_admits_postgresql_only_from_the_mwaa_and_quicksight_groups(tf):
    rules = {
        name: rule
        for name, rule in tf.resources("aws_vpc_security_group_ingress_rule").items()
        if rule["security_group_id"] == "${aws_security_group.db.id}"
    }
    sources = {rule.get("referenced_security_group_id") for rule in rules.values()}
    assert sources == {"${aws_security_group.mwaa.id}", "${aws_security_group.quicksight[0].id}"}
    for rule in rules.values():
        assert (rule["ip_protocol"], rule["from_port"], rule["to_port"]) == ("tcp", 5432, 5432)
        assert "cidr_ipv4" not in rule and "cidr_ipv6" not in rule
    assert tf.resource("aws_vpc_security_group_ingress_rule", "db_from_quicksight")["count"] == (
        "${local.quicksight_count}"
    )


def test_rds_password_is_ephemeral_and_write_only(tf):
    db = tf.resource("aws_db_instance", "this")
    assert "password" not in db, "a plain password argument would put the password in the plan and state"
    assert db["password_wo"] == "${ephemeral.aws_secretsmanager_random_password.db.random_password}"
    assert db["password_wo_version"] == "${var.db_password_version}"
    assert db["username"] == "${var.db_username}"
    [generator] = [
        body
        for kind, name, body in tf.ephemeral_resources()
        if (kind, name) == ("aws_secretsmanager_random_password", "db")
    ]
    assert generator["password_length"] >= 32
    # Only the provider this project ships (hashicorp/aws); no random provider, no random_* resources.
    assert not [kind for kind, _, _ in tf.all_resources() if kind.startswith("random_")]


def test_db_username_is_a_validated_variable_not_random(tf):
    variable = tf.variables["db_username"]
    assert variable["default"] == "covid_etl"
    assert _accepted_by_regex_validation(tf, "db_username", "covid_etl")
    assert not _accepted_by_regex_validation(tf, "db_username", "1etl")


def test_final_snapshot_name_is_unique_per_instance(tf):
    db = tf.resource("aws_db_instance", "this")
    assert "plantimestamp()" in db["final_snapshot_identifier"]
    assert "final_snapshot_identifier" in db["lifecycle"][0]["ignore_changes"]


###############################################################################
# Secrets
###############################################################################


def test_secrets_are_named_under_the_backend_prefixes(tf):
    names = {tf.render(s["name"]) for s in tf.resources("aws_secretsmanager_secret").values()}
    assert names == {
        f"{EXPECTED_CONNECTIONS_PREFIX}/covid_db",
        f"{EXPECTED_VARIABLES_PREFIX}/covid_etl_sns_topic_arn",
        f"{EXPECTED_VARIABLES_PREFIX}/covid_etl_staging_uri",
    }


def test_secrets_are_encrypted_with_the_stack_key(tf):
    for secret in tf.resources("aws_secretsmanager_secret").values():
        assert secret["kms_key_id"] == "${aws_kms_key.this.arn}"


def test_sns_topic_variable_secret_holds_the_plain_topic_arn(tf):
    version = tf.resource("aws_secretsmanager_secret_version", "sns_topic_arn")
    assert version["secret_id"] == "${aws_secretsmanager_secret.sns_topic_arn.id}"
    assert version["secret_string"] == "${aws_sns_topic.notifications.arn}"


def test_staging_variable_points_at_the_staging_prefix_the_role_may_write(tf):
    version = tf.resource("aws_secretsmanager_secret_version", "staging_uri")
    assert version["secret_string"] == "${local.staging_uri}"
    assert tf.render(tf.locals["staging_uri"]) == "s3://${aws_s3_bucket.artifacts.id}/staging"
    [statement] = [s for s in tf.policy_statements() if s.id == "mwaa_execution.StageSourceDownloads"]
    assert statement.document == "mwaa_execution"
    assert sorted(statement.actions) == ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
    assert [tf.render(r) for r in statement.resources] == ["${aws_s3_bucket.artifacts.arn}/staging/*"]


def _connection_secret_fields(tf: TerraformConfig) -> dict[str, Any]:
    version = tf.resource("aws_secretsmanager_secret_version", "db_connection")
    assert version["secret_id"] == "${aws_secretsmanager_secret.db_connection.id}"
    assert "secret_string" not in version, "the connection JSON holds the password: write-only (secret_string_wo) only"
    assert version["secret_string_wo_version"] == "${var.db_password_version}"
    return hcl_object(call_argument(version["secret_string_wo"], "jsonencode"))


def test_connection_secret_has_the_json_fields_airflow_reads(tf):
    fields = _connection_secret_fields(tf)
    assert fields["conn_type"] == "postgres"
    assert fields["host"] == "${aws_db_instance.this.address}"
    assert fields["port"] == "${aws_db_instance.this.port}"
    assert fields["schema"] == "${var.db_name}"
    assert fields["login"] == "${var.db_username}"
    assert fields["password"] == "${ephemeral.aws_secretsmanager_random_password.db.random_password}"
    assert fields["extra"] == {"sslmode": "require"}


def test_connection_secret_resolves_to_an_airflow_connection(tf):
    from airflow.providers.amazon.aws.secrets.secrets_manager import SecretsManagerBackend
    from airflow.sdk import Connection

    stand_ins = {
        "${aws_db_instance.this.address}": "covid-etl-db.abc123.eu-west-1.rds.amazonaws.com",
        "${aws_db_instance.this.port}": 5432,
        "${var.db_name}": "covid",
        "${var.db_username}": "covid_etl",
        "${ephemeral.aws_secretsmanager_random_password.db.random_password}": "generated-password",
    }
    fields = {k: stand_ins.get(v, v) if isinstance(v, str) else v for k, v in _connection_secret_fields(tf).items()}
    unresolved = [v for v in fields.values() if isinstance(v, str) and "${" in v]
    assert not unresolved, f"secret fields this test cannot stand in for: {unresolved}"

    backend = SecretsManagerBackend(
        connections_prefix=EXPECTED_CONNECTIONS_PREFIX, variables_prefix=EXPECTED_VARIABLES_PREFIX
    )
    connection = Connection.from_json(json.dumps(backend._standardize_secret_keys(fields)), conn_id="covid_db")

    assert connection.conn_type == "postgres"
    assert connection.host == stand_ins["${aws_db_instance.this.address}"]
    assert connection.port == 5432
    assert connection.login == stand_ins["${var.db_username}"]
    assert connection.password == stand_ins["${ephemeral.aws_secretsmanager_random_password.db.random_password}"]
    assert connection.schema == "covid"
    assert connection.extra_dejson == {"sslmode": "require"}


def test_connection_secret_also_has_the_keys_quicksight_reads(tf):
    fields = _connection_secret_fields(tf)
    assert fields["username"] == fields["login"]
    assert "password" in fields


###############################################################################
# MWAA
###############################################################################


def _constraint_airflow_version() -> str:
    first_line = (REPO / "requirements.txt").read_text().splitlines()[0]
    match = re.fullmatch(
        r"--constraint https://raw\.githubusercontent\.com/apache/airflow/constraints-(\d+\.\d+\.\d+)/"
        r"constraints-3\.\d+\.txt",
        first_line.strip(),
    )
    assert match, f"requirements.txt does not start with an Airflow constraint URL: {first_line!r}"
    return match.group(1)


def test_mwaa_airflow_version_matches_the_requirements_constraint(tf):
    assert tf.resource("aws_mwaa_environment", "this")["airflow_version"] == _constraint_airflow_version()


def test_mwaa_runs_in_exactly_the_two_private_subnets(tf):
    network = tf.resource("aws_mwaa_environment", "this")["network_configuration"][0]
    assert network["subnet_ids"] == "${aws_subnet.private[*].id}"
    assert network["security_group_ids"] == ["${aws_security_group.mwaa.id}"]
    assert tf.resource("aws_subnet", "private")["count"] == "${length(local.azs)}"


def test_private_subnets_sit_in_distinct_availability_zones(tf):
    subnet = tf.resource("aws_subnet", "private")
    # One subnet per zone: subnet i in zone i of a list of two distinct zones.
    assert subnet["availability_zone"] == "${local.azs[count.index]}"
    assert unwrap(tf.locals["azs"]) == "sort(data.aws_availability_zones.selected.names)"

    zones = tf.data_sources("aws_availability_zones")["selected"]
    assert zones["filter"][0]["name"] == "zone-name"
    assert zones["filter"][0]["values"] == "${local.availability_zone_names}"
    postcondition = unwrap(zones["lifecycle"][0]["postcondition"][0]["condition"])
    assert "length(self.names) == 2" in postcondition
    assert "length(distinct(self.names)) == 2" in postcondition

    # The default zones are the Region's "a" and "b"; an explicit list must hold two different zones.
    default_suffixes = re.findall(r"\$\{var\.aws_region\}([a-z])", tf.locals["availability_zone_names"])
    assert len(set(default_suffixes)) == 2
    zone_conditions = _validation_conditions(tf, "availability_zones")
    assert any("length(distinct(var.availability_zones)) == 2" in c for c in zone_conditions)


def test_mwaa_security_group_references_itself(tf):
    ingress = tf.resource("aws_vpc_security_group_ingress_rule", "mwaa_self")
    egress = tf.resource("aws_vpc_security_group_egress_rule", "mwaa_self")
    for rule in (ingress, egress):
        assert rule["security_group_id"] == "${aws_security_group.mwaa.id}"
        assert rule["referenced_security_group_id"] == "${aws_security_group.mwaa.id}"
        assert rule["ip_protocol"] == "-1"


def test_mwaa_reads_connections_and_variables_from_secrets_manager(tf):
    options = tf.resource("aws_mwaa_environment", "this")["airflow_configuration_options"]
    assert options["secrets.backend"] == "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend"
    kwargs = hcl_object(call_argument(options["secrets.backend_kwargs"], "jsonencode"))
    assert kwargs == {
        "connections_prefix": EXPECTED_CONNECTIONS_PREFIX,
        "variables_prefix": EXPECTED_VARIABLES_PREFIX,
    }


@pytest.mark.parametrize(
    "log_type", ["dag_processing_logs", "scheduler_logs", "task_logs", "webserver_logs", "worker_logs"]
)
def test_mwaa_sends_every_log_type_to_cloudwatch(tf, log_type):
    logging = tf.resource("aws_mwaa_environment", "this")["logging_configuration"][0]
    assert logging[log_type][0]["enabled"] is True


def test_mwaa_sizing_comes_from_validated_variables(tf):
    mwaa = tf.resource("aws_mwaa_environment", "this")
    assert mwaa["environment_class"] == "${var.mwaa_environment_class}"
    assert mwaa["min_workers"] == "${var.mwaa_min_workers}"
    assert mwaa["max_workers"] == "${var.mwaa_max_workers}"
    classes = re.search(
        r"contains\(\[([^\]]*)\], var\.mwaa_environment_class\)",
        " ".join(_validation_conditions(tf, "mwaa_environment_class")),
    )
    assert classes and set(re.findall(r'"([^"]+)"', classes.group(1))) == MWAA_ENVIRONMENT_CLASSES


def test_mwaa_web_server_is_private_by_default(tf):
    assert tf.resource("aws_mwaa_environment", "this")["webserver_access_mode"] == "${var.mwaa_webserver_access_mode}"
    variable = tf.variables["mwaa_webserver_access_mode"]
    assert variable["default"] == "PRIVATE_ONLY"
    condition = " ".join(_validation_conditions(tf, "mwaa_webserver_access_mode"))
    assert 'contains(["PRIVATE_ONLY", "PUBLIC_ONLY"], var.mwaa_webserver_access_mode)' in condition


def test_mwaa_loads_plugins_and_requirements_at_pinned_object_versions(tf):
    mwaa = tf.resource("aws_mwaa_environment", "this")
    assert mwaa["source_bucket_arn"] == "${aws_s3_bucket.artifacts.arn}"
    assert mwaa["dag_s3_path"] == "dags/"
    assert mwaa["plugins_s3_object_version"] == "${var.plugins_s3_object_version}"
    assert mwaa["requirements_s3_object_version"] == "${var.requirements_s3_object_version}"
    # Later versions are pinned by `make deploy`; Terraform must not roll them back.
    assert set(mwaa["lifecycle"][0]["ignore_changes"]) == {
        "plugins_s3_path",
        "plugins_s3_object_version",
        "requirements_s3_path",
        "requirements_s3_object_version",
    }


def test_mwaa_bucket_name_starts_with_airflow(tf):
    assert tf.resource("aws_s3_bucket", "artifacts")["bucket"] == "${local.artifacts_bucket_name}"
    assert tf.locals["artifacts_bucket_name"].startswith("airflow-")


###############################################################################
# Network
###############################################################################


@pytest.mark.parametrize(("rule", "cidrs"), _ingress_rules(_TF))
def test_no_ingress_admits_the_whole_internet(tf, rule, cidrs):
    for cidr in cidrs:
        assert cidr not in WHOLE_INTERNET
        if "${" in cidr:
            # Only the private-UI rule takes its CIDRs from a variable, whose validation refuses public ranges.
            assert cidr == "${each.value}" and rule["for_each"] == "${toset(var.mwaa_webserver_allowed_cidrs)}"
            for public in WHOLE_INTERNET | {"8.8.8.0/24"}:
                assert not _accepted_by_regex_validation(tf, "mwaa_webserver_allowed_cidrs", public)


def test_egress_to_the_internet_is_https_only(tf):
    open_egress = [
        r
        for r in tf.resources("aws_vpc_security_group_egress_rule").values()
        if r.get("cidr_ipv4") in WHOLE_INTERNET or r.get("cidr_ipv6") in WHOLE_INTERNET
    ]
    assert open_egress, "MWAA needs HTTPS egress through the NAT gateway"
    for rule in open_egress:
        assert (rule["ip_protocol"], rule["from_port"], rule["to_port"]) == ("tcp", 443, 443)


def test_default_security_group_allows_nothing(tf):
    default = tf.resource("aws_default_security_group", "this")
    assert "ingress" not in default and "egress" not in default


def test_private_subnets_reach_the_internet_only_through_nat(tf):
    assert tf.resource("aws_subnet", "private")["map_public_ip_on_launch"] is False
    assert tf.resource("aws_subnet", "public")["map_public_ip_on_launch"] is False
    route = tf.resource("aws_route", "private_nat")
    assert route["destination_cidr_block"] == "0.0.0.0/0"
    assert "nat_gateway_id" in route and "gateway_id" not in route
    internet_routes = [r for r in tf.resources("aws_route").values() if "gateway_id" in r]
    assert [r["route_table_id"] for r in internet_routes] == ["${aws_route_table.public.id}"]


def test_one_nat_gateway_by_default_and_one_per_az_as_an_option(tf):
    assert tf.variables["one_nat_gateway_per_az"]["default"] is False
    assert unwrap(tf.locals["nat_gateway_count"]) == "var.one_nat_gateway_per_az ? length(local.azs) : 1"
    assert tf.resource("aws_nat_gateway", "this")["count"] == "${local.nat_gateway_count}"
    assert tf.resource("aws_route", "private_nat")["nat_gateway_id"] == (
        "${aws_nat_gateway.this[var.one_nat_gateway_per_az ? count.index : 0].id}"
    )


def test_vpc_flow_logs_are_recorded(tf):
    flow_log = tf.resource("aws_flow_log", "this")
    assert flow_log["vpc_id"] == "${aws_vpc.this.id}"
    assert flow_log["traffic_type"] == "ALL"
    assert tf.resource("aws_cloudwatch_log_group", "flow_logs")["kms_key_id"] == "${aws_kms_key.this.arn}"


###############################################################################
# Artifacts bucket
###############################################################################


def test_bucket_blocks_all_public_access(tf):
    block = tf.resource("aws_s3_bucket_public_access_block", "artifacts")
    assert block["bucket"] == "${aws_s3_bucket.artifacts.id}"
    flags = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
    assert {flag: block.get(flag) for flag in flags} == dict.fromkeys(flags, True)


def test_bucket_versioning_is_enabled(tf):
    versioning = tf.resource("aws_s3_bucket_versioning", "artifacts")
    assert versioning["bucket"] == "${aws_s3_bucket.artifacts.id}"
    assert versioning["versioning_configuration"][0]["status"] == "Enabled"


def test_bucket_is_encrypted_with_the_stack_key(tf):
    rule = tf.resource("aws_s3_bucket_server_side_encryption_configuration", "artifacts")["rule"][0]
    default = rule["apply_server_side_encryption_by_default"][0]
    assert default == {"sse_algorithm": "aws:kms", "kms_master_key_id": "${aws_kms_key.this.arn}"}


def test_bucket_policy_denies_requests_without_tls(tf):
    policy = tf.resource("aws_s3_bucket_policy", "artifacts")
    assert policy["policy"] == "${data.aws_iam_policy_document.artifacts_bucket.json}"
    statements = [s for s in tf.policy_statements() if s.document == "artifacts_bucket"]
    deny = [s for s in statements if s.effect == "Deny" and s.actions == ["s3:*"]]
    assert deny, "no Deny s3:* statement in the bucket policy"
    condition = deny[0].conditions[0]
    assert (condition["test"], condition["variable"], condition["values"]) == (
        "Bool",
        "aws:SecureTransport",
        ["false"],
    )
    assert set(deny[0].resources) == {"${aws_s3_bucket.artifacts.arn}", "${aws_s3_bucket.artifacts.arn}/*"}


###############################################################################
# IAM
###############################################################################


def test_secretsmanager_access_is_limited_to_the_two_airflow_prefixes(tf):
    statements = [
        s
        for s in tf.policy_statements()
        if s.effect == "Allow" and any(a.startswith("secretsmanager:") for a in s.actions)
    ]
    assert statements
    arn_prefix = "arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:"
    for statement in statements:
        assert set(statement.actions) <= {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
        assert statement.resources and "*" not in statement.resources
        for resource in statement.resources:
            assert resource in {
                f"{arn_prefix}{EXPECTED_CONNECTIONS_PREFIX}/*",
                f"{arn_prefix}{EXPECTED_VARIABLES_PREFIX}/*",
                "${aws_secretsmanager_secret.db_connection.arn}",
            }, f"{statement.id}: {resource}"
    execution = [s for s in statements if s.document == "mwaa_execution"]
    assert {r for s in execution for r in s.resources} == {
        f"{arn_prefix}{EXPECTED_CONNECTIONS_PREFIX}/*",
        f"{arn_prefix}{EXPECTED_VARIABLES_PREFIX}/*",
    }


def test_sns_publish_is_allowed_only_on_the_notification_topic(tf):
    statements = [
        s
        for s in tf.policy_statements()
        if s.effect == "Allow" and any(a.startswith("sns:") for a in s.actions) and _is_identity_policy(s)
    ]
    assert [s.document for s in statements] == ["mwaa_execution"]
    assert statements[0].actions == ["sns:Publish"]
    assert statements[0].resources == ["${aws_sns_topic.notifications.arn}"]


def test_topic_policy_lets_only_the_execution_role_and_the_alarm_publish(tf):
    # terraform/tests/monitoring.tftest.hcl checks the same on the planned values.
    assert tf.resource("aws_sns_topic_policy", "notifications")["policy"] == (
        "${data.aws_iam_policy_document.notifications_topic.json}"
    )
    statements = [s for s in tf.policy_statements() if s.document == "notifications_topic"]
    role = "${aws_iam_role.mwaa_execution.arn}"
    allow = [s for s in statements if s.effect == "Allow" and "sns:Publish" in s.actions]
    assert sorted(tuple(p["identifiers"]) for s in allow for p in s.principals) == [
        (role,),
        ("cloudwatch.amazonaws.com",),
    ]
    [service] = [s for s in allow if s.principals[0]["type"] == "Service"]
    assert {c["variable"]: c["values"] for c in service.conditions} == {
        "aws:SourceAccount": ["${local.account_id}"],
        "aws:SourceArn": ["${local.missed_load_alarm_arn}"],
    }
    deny = [s for s in statements if s.effect == "Deny" and "sns:Publish" in s.actions]
    assert len(deny) == 1
    conditions = {(c["test"], c["variable"]): c["values"] for c in deny[0].conditions}
    assert conditions == {
        ("ArnNotEquals", "aws:PrincipalArn"): [role],
        ("StringNotEquals", "aws:PrincipalServiceName"): ["cloudwatch.amazonaws.com"],
    }


def test_mwaa_execution_role_follows_the_documented_policy(tf):
    statements = {s.body.get("sid"): s for s in tf.policy_statements() if s.document == "mwaa_execution"}
    assert statements["PublishEnvironmentMetrics"].resources == ["${local.mwaa_environment_arn}"]
    assert statements["WriteEnvironmentLogs"].resources == [
        "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:"
        "airflow-${local.mwaa_environment_name}-*"
    ]
    assert statements["UseCeleryQueues"].resources == ["arn:${local.partition}:sqs:${local.region}:*:airflow-celery-*"]
    assert statements["PutAirflowMetrics"].actions == ["cloudwatch:PutMetricData"]
    kms = statements["UseKeyForCeleryQueuesAndArtifacts"]
    assert kms.conditions[0]["variable"] == "kms:ViaService"
    assert "sqs.${local.region}.amazonaws.com" in kms.conditions[0]["values"]
    read = statements["ReadArtifactsBucket"]
    assert set(read.resources) == {"${aws_s3_bucket.artifacts.arn}", "${aws_s3_bucket.artifacts.arn}/*"}


def test_mwaa_execution_role_trusts_only_this_environment(tf):
    statement = [s for s in tf.policy_statements() if s.document == "mwaa_assume_role"][0]
    assert set(statement.principals[0]["identifiers"]) == {"airflow.amazonaws.com", "airflow-env.amazonaws.com"}
    conditions = {c["variable"]: c["values"] for c in statement.conditions}
    assert conditions == {
        "aws:SourceAccount": ["${local.account_id}"],
        "aws:SourceArn": ["${local.mwaa_environment_arn}"],
    }


@pytest.mark.parametrize(
    "statement",
    [pytest.param(s, id=s.id) for s in _TF.policy_statements() if s.effect == "Allow" and _is_identity_policy(s)],
)
def test_no_wildcard_resource_where_a_specific_one_exists(statement):
    if "*" in statement.resources:
        assert set(statement.actions) <= ACTIONS_WITHOUT_RESOURCE_TYPES, statement.actions
    for action in statement.actions:
        assert "*" not in action.split(":", 1)[0], action
        assert action != "*"


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param(s, id=s.id)
        for s in _TF.policy_statements()
        if s.effect == "Allow" and _is_identity_policy(s) and any(a.startswith("kms:") for a in s.actions)
    ],
)
def test_kms_use_is_limited_to_the_stack_key_through_one_service(statement):
    assert statement.resources == ["${aws_kms_key.this.arn}"]
    assert [c["variable"] for c in statement.conditions] == ["kms:ViaService"]


def test_kms_key_rotates(tf):
    key = tf.resource("aws_kms_key", "this")
    assert key["enable_key_rotation"] is True
    assert '"*"' not in re.sub(r"Resource\s*=\s*\"\*\"", "", unwrap(key["policy"])), "wildcard principal in key policy"


###############################################################################
# Notifications
###############################################################################


def test_sns_topic_is_encrypted_with_the_stack_key(tf):
    assert tf.resource("aws_sns_topic", "notifications")["kms_master_key_id"] == "${aws_kms_key.this.arn}"


def test_email_subscriptions_come_from_a_validated_list(tf):
    subscription = tf.resource("aws_sns_topic_subscription", "email")
    assert subscription["for_each"] == "${toset(var.notification_emails)}"
    assert subscription["protocol"] == "email"
    assert tf.variables["notification_emails"]["type"] == "${list(string)}"


###############################################################################
# QuickSight
###############################################################################


def _quicksight_resources(tf: TerraformConfig) -> list[tuple[str, str, dict[str, Any]]]:
    found = [r for r in tf.all_resources() if "quicksight" in r[0] or "quicksight" in r[1]]
    found += [d for d in tf.all_data_sources() if "quicksight" in d[1]]
    return found


def test_quicksight_is_optional_and_off_by_default(tf):
    assert tf.variables["enable_quicksight"]["default"] is False
    assert unwrap(tf.locals["quicksight_count"]) == "var.enable_quicksight ? 1 : 0"
    resources = _quicksight_resources(tf)
    assert {r[0] for r in resources} >= {
        "aws_quicksight_vpc_connection",
        "aws_quicksight_data_source",
        "aws_quicksight_data_set",
        "aws_quicksight_dashboard",
    }
    for kind, name, body in resources:
        assert body.get("count") == "${local.quicksight_count}", f"{kind}.{name} is created unconditionally"


def test_quicksight_connects_through_the_private_subnets(tf):
    connection = tf.resource("aws_quicksight_vpc_connection", "this")
    assert connection["subnet_ids"] == "${aws_subnet.private[*].id}"
    assert connection["security_group_ids"] == ["${aws_security_group.quicksight[0].id}"]
    assert connection["role_arn"] == "${aws_iam_role.quicksight_vpc_connection[0].arn}"


def test_quicksight_data_source_reads_credentials_from_secrets_manager(tf):
    source = tf.resource("aws_quicksight_data_source", "this")
    assert source["type"] == "POSTGRESQL"
    assert source["credentials"][0] == {"secret_arn": "${aws_secretsmanager_secret.db_connection.arn}"}
    connection = source["vpc_connection_properties"][0]["vpc_connection_arn"]
    assert connection == "${aws_quicksight_vpc_connection.this[0].arn}"
    assert source["ssl_properties"][0]["disable_ssl"] is False
    assert source["parameters"][0]["postgresql"][0]["host"] == "${aws_db_instance.this.address}"


def test_quicksight_data_set_maps_covid_us_daily(tf):
    table = tf.resource("aws_quicksight_data_set", "covid_us_daily")["physical_table_map"][0]["relational_table"][0]
    assert tf.render(table["name"]) == "covid_us_daily"
    columns = {c["name"]: c["type"] for c in table["input_columns"]}
    assert columns == {"date": "DATETIME", "cases": "INTEGER", "deaths": "INTEGER", "recovered": "INTEGER"}


def test_quicksight_dashboard_plots_cases_deaths_and_recovered_over_date(tf):
    dashboard = tf.resource("aws_quicksight_dashboard", "this")
    sheet = dashboard["definition"][0]["sheets"][0]
    wells = sheet["visuals"][0]["line_chart_visual"][0]["chart_configuration"][0]["field_wells"][0]
    wells = wells["line_chart_aggregated_field_wells"][0]
    category = wells["category"][0]["date_dimension_field"][0]
    assert category["column"][0]["column_name"] == "date"
    values = wells["dynamic"][0]["values"]
    assert values["for_each"] == "${local.quicksight_measures}"
    assert tf.locals["quicksight_measures"] == ["cases", "deaths", "recovered"]


@pytest.mark.parametrize(
    ("resource_type", "name", "block"),
    [
        pytest.param("aws_quicksight_data_source", "this", "permission", id="data_source"),
        pytest.param("aws_quicksight_data_set", "covid_us_daily", "permissions", id="data_set"),
        pytest.param("aws_quicksight_data_set", "covid_us_state_daily", "permissions", id="state_data_set"),
        pytest.param("aws_quicksight_dashboard", "this", "permissions", id="dashboard"),
    ],
)
def test_quicksight_assets_are_shared_with_the_configured_principal(tf, resource_type, name, block):
    permissions = tf.resource(resource_type, name)[block]
    assert [p["principal"] for p in permissions] == ["${var.quicksight_principal_arn}"]


###############################################################################
# Variables, outputs, versions
###############################################################################


@pytest.mark.parametrize("name", sorted(_TF.variables))
def test_every_variable_has_a_type_and_a_description(tf, name):
    variable = tf.variables[name]
    assert variable.get("type"), f"variable {name} has no type"
    assert isinstance(variable.get("description"), str) and len(variable["description"]) >= 15


@pytest.mark.parametrize(
    "name",
    [
        "aws_region",
        "name",
        "environment",
        "log_retention_days",
        "vpc_cidr",
        "availability_zones",
        "db_engine_version",
        "db_instance_class",
        "db_name",
        "db_allocated_storage",
        "db_backup_retention_days",
        "mwaa_environment_class",
        "mwaa_min_workers",
        "mwaa_max_workers",
        "mwaa_webserver_access_mode",
        "mwaa_webserver_allowed_cidrs",
        "notification_emails",
        "quicksight_principal_arn",
    ],
)
def test_enums_ranges_and_formats_are_validated(tf, name):
    assert _validation_conditions(tf, name), f"variable {name} has no validation"


@pytest.mark.parametrize(
    ("variable", "value", "valid"),
    [
        pytest.param("aws_region", "eu-west-1", True, id="region-eu-west-1"),
        pytest.param("aws_region", "us-gov-west-1", True, id="region-govcloud"),
        pytest.param("aws_region", "Europe", False, id="region-not-a-code"),
        pytest.param("aws_region", "eu-west", False, id="region-without-number"),
        pytest.param("notification_emails", "ops@example.com", True, id="email-plain"),
        pytest.param("notification_emails", "first.last+etl@sub.example.org", True, id="email-tagged"),
        pytest.param("notification_emails", "ops@example", False, id="email-without-tld"),
        pytest.param("notification_emails", "not an email", False, id="email-garbage"),
        pytest.param("mwaa_webserver_allowed_cidrs", "10.1.0.0/16", True, id="ui-cidr-10"),
        pytest.param("mwaa_webserver_allowed_cidrs", "172.16.4.0/22", True, id="ui-cidr-172"),
        pytest.param("mwaa_webserver_allowed_cidrs", "192.168.1.0/24", True, id="ui-cidr-192"),
        pytest.param("mwaa_webserver_allowed_cidrs", "0.0.0.0/0", False, id="ui-cidr-internet"),
        pytest.param("mwaa_webserver_allowed_cidrs", "172.32.0.0/16", False, id="ui-cidr-public-172"),
        pytest.param("name", "covid-etl", True, id="name-default"),
        pytest.param("name", "Covid_ETL", False, id="name-upper-and-underscore"),
        pytest.param("db_engine_version", "17", True, id="engine-major"),
        pytest.param("db_engine_version", "17.6", True, id="engine-minor"),
        pytest.param("db_engine_version", "12", False, id="engine-too-old"),
        pytest.param("vpc_cidr", "10.20.0.0/16", True, id="vpc-cidr-16"),
        pytest.param("vpc_cidr", "10.20.0.0/24", False, id="vpc-cidr-too-small"),
    ],
)
def test_format_validations_accept_and_reject(tf, variable, value, valid):
    assert _accepted_by_regex_validation(tf, variable, value) is valid


@pytest.mark.parametrize(
    ("variable", "low", "high"),
    [
        pytest.param("db_backup_retention_days", 7, 35, id="backup-retention"),
        pytest.param("mwaa_min_workers", 1, 25, id="min-workers"),
        pytest.param("db_allocated_storage", 20, 1000, id="storage"),
        pytest.param("kms_deletion_window_days", 7, 30, id="kms-deletion-window"),
    ],
)
def test_numeric_ranges_are_bounded(tf, variable, low, high):
    condition = " ".join(_validation_conditions(tf, variable))
    assert f"var.{variable} >= {low}" in condition
    assert f"var.{variable} <= {high}" in condition
    assert low <= tf.variables[variable]["default"] <= high


def test_max_workers_cannot_be_below_min_workers(tf):
    condition = " ".join(_validation_conditions(tf, "mwaa_max_workers"))
    assert "var.mwaa_max_workers >= var.mwaa_min_workers" in condition
    assert "var.mwaa_max_workers <= 25" in condition


def test_vpc_cidr_validity_is_checked_with_cidrhost(tf):
    assert any("can(cidrhost(var.vpc_cidr, 0))" in c for c in _validation_conditions(tf, "vpc_cidr"))


def test_example_tfvars_sets_only_declared_variables(tf):
    text = (TERRAFORM_DIR / "terraform.tfvars.example").read_text()
    assigned = set(re.findall(r"^\s*#?\s*([a-z_0-9]+)\s*=", text, flags=re.MULTILINE))
    assert assigned and assigned <= set(tf.variables)


@pytest.mark.parametrize("name", sorted(_TF.outputs))
def test_every_output_has_a_description(tf, name):
    assert isinstance(tf.outputs[name].get("description"), str) and tf.outputs[name]["description"]


def test_outputs_cover_what_users_and_make_deploy_need(tf):
    required = {
        "airflow_ui_url",
        "db_endpoint",
        "sns_topic_arn",
        "artifacts_bucket_name",
        "mwaa_environment_name",
        "mwaa_execution_role_arn",
        "quicksight_dashboard_url",
    }
    assert required <= set(tf.outputs)
    assert tf.outputs["airflow_ui_url"]["value"] == "https://${aws_mwaa_environment.this.webserver_url}"
    assert unwrap(tf.outputs["quicksight_dashboard_url"]["value"]).startswith("var.enable_quicksight ?")
    assert unwrap(tf.outputs["quicksight_dashboard_url"]["value"]).endswith(": null")


def test_outputs_read_by_the_deploy_script_exist(tf):
    deploy = REPO / "scripts" / "deploy_mwaa.sh"
    if not deploy.exists():
        pytest.skip("scripts/deploy_mwaa.sh is not in this checkout")
    read = set(re.findall(r"output\s+(?:-\S+\s+)*-raw\s+(\w+)", deploy.read_text()))
    assert read, "the deploy script reads no terraform output"
    assert read <= set(tf.outputs)


@pytest.mark.parametrize("name", sorted(_TF.outputs))
def test_no_output_reveals_a_credential(tf, name):
    value = json.dumps(tf.outputs[name]["value"])
    if re.search(r"random_password|secret_string|\.password\b", value):
        assert tf.outputs[name].get("sensitive") is True


def test_providers_are_pinned_and_locked(tf):
    settings = tf.terraform_settings
    assert settings["required_version"].startswith(">= 1.11")
    providers = settings["required_providers"][0]
    assert {k for k in providers if not k.startswith("__")} == {"aws"}, "only hashicorp/aws is available offline"
    assert providers["aws"]["source"] == "hashicorp/aws"
    assert providers["aws"]["version"] == ">= 5.100, < 7.0"
    lock = (TERRAFORM_DIR / ".terraform.lock.hcl").read_text()
    assert 'provider "registry.terraform.io/hashicorp/aws"' in lock
    assert re.search(r'version\s+=\s+"5\.100\.0"', lock)
    assert "h1:" in lock


def test_provider_applies_one_tagging_scheme(tf):
    aws = tf.provider("aws")
    assert aws["default_tags"][0]["tags"] == "${local.tags}"
    match = re.fullmatch(r"merge\((\{.*\}), var\.tags\)", unwrap(tf.locals["tags"]), flags=re.DOTALL)
    assert match, tf.locals["tags"]
    assert hcl_object(match.group(1)) == {
        "Project": "${var.name}",
        "Environment": "${var.environment}",
        "ManagedBy": "terraform",
    }


###############################################################################
# Whole tree
###############################################################################

_CREDENTIAL_PATTERNS = [
    re.compile(
        r"""(?ix)\b(password|passwd|pwd|secret|secret_string|secret_key|secret_access_key|access_key|api_key|token)
            ["']?\s*[=:]\s*"(?!\$\{)[^"\s]{4,}\""""
    ),
    re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
]


def _credential_findings(text: str) -> list[str]:
    return [m.group(0) for pattern in _CREDENTIAL_PATTERNS for m in pattern.finditer(text)]


@pytest.mark.parametrize(
    ("line", "is_credential"),
    [
        pytest.param('password = "hunter2-is-weak"', True, id="literal-password"),
        pytest.param('  "password": "s3cr3t-value"', True, id="json-password"),
        pytest.param('secret_string = "abc123def"', True, id="literal-secret-string"),
        pytest.param("aws_access_key_id = AKIAABCDEFGHIJKLMNOP", True, id="access-key-id"),
        pytest.param("-----BEGIN RSA PRIVATE KEY-----", True, id="private-key"),
        pytest.param("password = random_password.db.result", False, id="generated-password"),
        pytest.param('password = "${random_password.db.result}"', False, id="interpolated-password"),
        pytest.param("secret_arn = aws_secretsmanager_secret.db_connection.arn", False, id="secret-reference"),
    ],
)
def test_credential_scan_recognises_literals(line, is_credential):
    assert bool(_credential_findings(line)) is is_credential


def test_no_credential_literal_anywhere_in_terraform(tf):
    findings = {
        str(path.relative_to(REPO)): hits
        for path in tf.text_files()
        if (hits := _credential_findings(path.read_text(errors="replace")))
    }
    assert findings == {}


def _checkov_skips() -> list[Any]:
    skips = []
    for path in sorted(TERRAFORM_DIR.glob("*.tf")):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if "checkov:skip" in line:
                skips.append(pytest.param(line.strip(), id=f"{path.name}:{number}"))
    return skips


@pytest.mark.parametrize("line", _checkov_skips())
def test_every_checkov_skip_carries_a_reason(line):
    match = re.fullmatch(r"#\s*checkov:skip=(CKV2?_AWS_\d+):(?P<reason>.+)", line)
    assert match, f"malformed checkov skip: {line}"
    assert len(match.group("reason").split()) >= 8, f"reason too thin: {line}"


def test_checkov_skips_sit_inside_the_resources_they_exempt(tf):
    attached = []
    for _, _, body in list(tf.all_resources()) + list(tf.all_data_sources()):
        attached += [c["value"] for c in body.get("__comments__", []) if c["value"].startswith("checkov:skip=")]
    in_files = [re.sub(r"^#\s*", "", str(p.values[0])) for p in _checkov_skips()]
    assert sorted(attached) == sorted(in_files)


def test_checks_are_not_disabled_outside_inline_skips():
    config_files = [p for d in (REPO, TERRAFORM_DIR) for p in d.glob(".checkov.y*ml")]
    assert config_files == []
    script = (REPO / "scripts" / "check_terraform.sh").read_text()
    for flag in ("--skip-check", "--soft-fail", "--check ", "--skip-framework", "--hard-fail-on"):
        assert flag not in script


def test_terraform_tree_holds_no_state_or_local_variables():
    leftovers = [
        p.name
        for p in TERRAFORM_DIR.iterdir()
        if p.name.endswith((".tfstate", ".tfstate.backup")) or p.name == "terraform.tfvars"
    ]
    assert leftovers == []


def test_readme_documents_every_variable_and_output(tf):
    readme = (TERRAFORM_DIR / "README.md").read_text()
    missing = [f"`{n}`" for n in list(tf.variables) + list(tf.outputs) if f"`{n}`" not in readme]
    assert missing == []


def test_conftest_sees_every_terraform_file():
    on_disk = {p.name for p in Path(TERRAFORM_DIR).glob("*.tf")}
    assert on_disk == set(_TF.files)
    assert {"versions.tf", "providers.tf", "variables.tf", "outputs.tf", "mwaa.tf", "iam.tf"} <= on_disk
