"""Text a person or a system sends must be text: no NUL character (PostgreSQL cannot store it) and no
unpaired surrogate (it is not Unicode, and cannot be written as UTF-8). Refused at the door as a 4xx
naming the field, instead of failing later in the database."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, field_validator

_NOT_TEXT = re.compile("[\x00\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Why `value` is not text, or None when it is."""
    found = _NOT_TEXT.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return f"contains a NUL character (\\x00) at position {found.start() + 1}: remove it"
    code = f"\\u{ord(found.group()):04x}"
    return f"contains an unpaired surrogate ({code}) at position {found.start() + 1}: not Unicode text"


def refuse_unprintable(value: Any) -> Any:
    """`value` unchanged, or ValueError if it (or any text inside it) is not text."""
    if isinstance(value, str):
        problem = text_problem(value)
        if problem is not None:
            raise ValueError(problem)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            refuse_unprintable(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            refuse_unprintable(key)
            refuse_unprintable(item)
    return value


class TextModel(BaseModel):
    """A model whose every text field (nested too) is checked by `refuse_unprintable`."""

    @field_validator("*", mode="after")
    @classmethod
    def _text_only(cls, value: Any) -> Any:
        return refuse_unprintable(value)


# A query parameter of text: at most 300 characters, and text (422 naming it otherwise).
TextParameter = Annotated[str, Field(max_length=300), AfterValidator(refuse_unprintable)]
