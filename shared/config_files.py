"""The configuration files people edit (alert rules, assessment groups, the heads' scoring scheme): YAML read
into a pydantic model, every problem named as `source: where: why`, so a wrong file stops a service at start
with a message that says what to fix."""

from __future__ import annotations

from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class ConfigFileError(ValueError):
    """A configuration file that is not valid YAML or not a valid configuration."""


def parse_yaml_file(model: type[M], text: str, source: str, error: type[ConfigFileError] = ConfigFileError) -> M:
    """`text` as `model`; `error` listing every problem, one per line, each `source: where: why`."""
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as wrong:
        raise error(f"{source}: not valid YAML: {wrong}") from None
    try:
        return model.model_validate(data)
    except ValidationError as wrong:
        problems = [
            f"{source}: {'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg'].removeprefix('Value error, ')}"
            for e in wrong.errors()
        ]
        raise error("\n".join(problems)) from None
