"""A parsed, read-only view of terraform/ for the static tests (imported by test_terraform.py).

python-hcl2 8.x is used with ``strip_string_quotes`` so that literal strings come back bare
(``"PRIVATE_ONLY"`` -> ``PRIVATE_ONLY``) while expressions keep their ``${...}`` wrapper
(``var.name`` -> ``${var.name}``); blocks come back as lists of dicts, maps as dicts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import hcl2
from hcl2 import SerializationOptions

REPO = Path(__file__).resolve().parents[3]
TERRAFORM_DIR = REPO / "terraform"

_PARSE_OPTIONS = SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=True)


def parse_hcl(text: str) -> dict[str, Any]:
    return hcl2.loads(text, serialization_options=_PARSE_OPTIONS)


def unwrap(value: Any) -> Any:
    """``"${expr}"`` -> ``"expr"`` when the whole value is one interpolation; anything else unchanged."""
    if not (isinstance(value, str) and value.startswith("${") and value.endswith("}")):
        return value
    depth = 0
    for index, char in enumerate(value):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return value[2:-1] if index == len(value) - 1 else value
    return value


def hcl_object(expression: str) -> dict[str, Any]:
    """Parses an HCL object expression such as ``{a = "x", b = {c = "d"}}`` into a dict."""
    return parse_hcl(f"value = {expression}\n")["value"]


def call_argument(expression: str, function: str) -> str:
    """``jsonencode({...})`` -> ``{...}`` for ``function="jsonencode"``."""
    expression = unwrap(expression)
    prefix = f"{function}("
    assert expression.startswith(prefix) and expression.endswith(")"), expression
    return expression[len(prefix) : -1]


def hcl_regexes(condition: str) -> list[re.Pattern[str]]:
    """Every ``regex("pattern", ...)`` in a validation condition, compiled (HCL string escapes undone)."""
    patterns = re.findall(r'regex\("((?:[^"\\]|\\.)*)"\s*,', condition)
    return [re.compile(p.replace('\\"', '"').replace("\\\\", "\\")) for p in patterns]


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


@dataclass(frozen=True)
class Statement:
    """One ``statement`` block of a ``data "aws_iam_policy_document"``."""

    document: str
    index: int
    body: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.document}.{self.body.get('sid', self.index)}"

    @property
    def effect(self) -> str:
        return self.body.get("effect", "Allow")

    @property
    def actions(self) -> list[str]:
        return as_list(self.body.get("actions"))

    @property
    def resources(self) -> list[str]:
        return as_list(self.body.get("resources"))

    @property
    def principals(self) -> list[dict[str, Any]]:
        return as_list(self.body.get("principals"))

    @property
    def conditions(self) -> list[dict[str, Any]]:
        return as_list(self.body.get("condition"))


@dataclass
class TerraformConfig:
    directory: Path
    files: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, directory: Path) -> TerraformConfig:
        config = cls(directory)
        for path in sorted(directory.glob("*.tf")):
            config.files[path.name] = parse_hcl(path.read_text())
        return config

    def _blocks(self, kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for name, parsed in self.files.items():
            for block in parsed.get(kind, []):
                yield name, block

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for _, block in self._blocks("resource"):
            found.update(block.get(resource_type, {}))
        return found

    def resource(self, resource_type: str, name: str) -> dict[str, Any]:
        resources = self.resources(resource_type)
        assert name in resources, f"resource {resource_type}.{name} is not defined in terraform/"
        return resources[name]

    def all_resources(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        for _, block in self._blocks("resource"):
            for resource_type, named in block.items():
                for name, body in named.items():
                    yield resource_type, name, body

    def ephemeral_resources(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        for _, block in self._blocks("ephemeral"):
            for resource_type, named in block.items():
                for name, body in named.items():
                    yield resource_type, name, body

    def data_sources(self, data_type: str) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for _, block in self._blocks("data"):
            found.update(block.get(data_type, {}))
        return found

    def all_data_sources(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        for _, block in self._blocks("data"):
            for data_type, named in block.items():
                for name, body in named.items():
                    yield data_type, name, body

    @cached_property
    def variables(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for _, block in self._blocks("variable"):
            found.update(block)
        return found

    @cached_property
    def outputs(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for _, block in self._blocks("output"):
            found.update(block)
        return found

    @cached_property
    def locals(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for _, block in self._blocks("locals"):
            found.update({k: v for k, v in block.items() if not k.startswith("__")})
        return found

    @cached_property
    def terraform_settings(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for _, block in self._blocks("terraform"):
            merged.update(block)
        return merged

    def provider(self, name: str) -> dict[str, Any]:
        for _, block in self._blocks("provider"):
            if name in block:
                return block[name]
        raise AssertionError(f"provider {name} is not configured")

    def render(self, value: Any) -> Any:
        """Substitutes ``${local.x}`` where local.x is a literal string; other expressions stay."""
        if not isinstance(value, str):
            return value
        whole = re.fullmatch(r"\$\{local\.(\w+)\}", value)
        if whole and whole.group(1) in self.locals and not isinstance(self.locals[whole.group(1)], str):
            return self.locals[whole.group(1)]

        def substitute(match: re.Match[str]) -> str:
            local = self.locals.get(match.group(1))
            if isinstance(local, str) and "${" not in local:
                return local
            return match.group(0)

        return re.sub(r"\$\{local\.(\w+)\}", substitute, value)

    def policy_statements(self) -> list[Statement]:
        statements = []
        for document, body in self.data_sources("aws_iam_policy_document").items():
            for index, statement in enumerate(as_list(body.get("statement"))):
                statements.append(Statement(document, index, statement))
        return statements

    def text_files(self) -> Iterator[Path]:
        for path in sorted(self.directory.rglob("*")):
            if path.is_file() and ".terraform" not in path.parts and not path.name.endswith(".tfstate"):
                yield path
