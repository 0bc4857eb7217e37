"""docs/adr/0002-mwaa-network-rules.md lists every rule of MWAA's security group: the ADR and terraform/ agree.

A rule added to (or changed in) the Terraform without the ADR, or the other way round, fails here, so the
decision stays the one the code carries out.
"""

from __future__ import annotations

import re

import pytest
from tfconfig import REPO, TERRAFORM_DIR, TerraformConfig

ADR = REPO / "docs" / "adr" / "0002-mwaa-network-rules.md"
MWAA_GROUP = "${aws_security_group.mwaa.id}"


def adr_rules() -> dict[str, tuple[str, str]]:
    """{resource address: (direction, "protocol port")} from the ADR's table of rules."""
    rows = re.findall(
        r"^\| `(aws_vpc_security_group_(?:ingress|egress)_rule\.\w+)` \| (\w+) \| ([^|]+?) \|", ADR.read_text(), re.M
    )
    return {address: (direction, protocol) for address, direction, protocol in rows}


def terraform_rules() -> dict[str, tuple[str, str]]:
    """The same, for every rule of terraform/ attached to the MWAA security group."""
    tf = TerraformConfig.load(TERRAFORM_DIR)
    rules = {}
    for kind, direction in (("ingress", "in"), ("egress", "out")):
        for name, rule in tf.resources(f"aws_vpc_security_group_{kind}_rule").items():
            if rule["security_group_id"] != MWAA_GROUP:
                continue
            protocol = "all" if rule["ip_protocol"] == "-1" else f"{rule['ip_protocol']} {rule['from_port']}"
            if rule["ip_protocol"] != "-1":
                assert rule["from_port"] == rule["to_port"], name
            rules[f"aws_vpc_security_group_{kind}_rule.{name}"] = (direction, protocol)
    return rules


def test_the_adr_names_every_rule_of_the_mwaa_security_group_as_terraform_has_it():
    documented = adr_rules()
    assert len(documented) == 5
    assert documented == terraform_rules()


@pytest.mark.parametrize(
    ("port", "endpoints"),
    [
        pytest.param("443/tcp", ["SQS", "CloudWatch", "S3", "Secrets Manager", "SNS", "GitHub"], id="https"),
        pytest.param("5432/tcp", ["metadata database", "pipeline database"], id="postgresql"),
    ],
)
def test_the_adr_gives_each_endpoint_the_issue_names_its_port(port, endpoints):
    rows = [line for line in ADR.read_text().splitlines() if line.startswith("| ") and f"| {port} |" in line]
    for endpoint in endpoints:
        assert any(endpoint in row for row in rows), endpoint
