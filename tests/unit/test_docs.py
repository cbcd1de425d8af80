"""The front door and the pages behind it: a README that fits on a page, every link that resolves (files and
headings), and every `pim` command they show accepted by the `pim` command as written — the code blocks'
lines parsed in full (options and values), the commands named in the prose found."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.core import TyperGroup

from pim.cli import app

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")
CODE_BLOCK = re.compile(r"```(?:sh|bash|shell|console)?\n(.*?)```", re.S)
BLOCK_COMMAND = re.compile(r"^(?:\$ )?(?:[A-Z_]+=\S+ )*pim (.*)$")
INLINE_COMMAND = re.compile(r"`pim ([^`]+)`")
PIM = typer.main.get_command(app)


def _relative(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


def _slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    return {_slug(m) for m in re.findall(r"^#+ (.+)$", page.read_text(encoding="utf-8"), re.M)}


def test_the_readme_fits_on_a_page() -> None:
    assert (ROOT / "README.md").stat().st_size < 15_000


@pytest.mark.parametrize("page", PAGES, ids=_relative)
def test_every_link_resolves(page: Path) -> None:
    broken = []
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        if re.match(r"^[a-z]+:", target):
            continue  # another site's
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
            broken.append(f"{target}: no such heading")
    assert broken == []


def _parse(args: list[str]) -> Any:
    """The command `pim ARGS` runs, its options and arguments parsed as the CLI parses them (a usage error
    raised if not)."""
    command, name, rest = PIM, "pim", list(args)
    while isinstance(command, TyperGroup) and rest and not rest[0].startswith("-"):
        found = command.commands.get(rest[0])
        assert found is not None, f"pim has no command {' '.join(args[: len(args) - len(rest) + 1])}"
        command, name, rest = found, rest[0], rest[1:]
    # A password is asked for at the prompt, never written in a command: answered here as if typed.
    typed = {p.name: "mật-khẩu-đã-gõ" for p in command.params if getattr(p, "prompt", None)}
    command.make_context(name, rest, default_map=typed)
    return command


def _block_commands() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        for block in CODE_BLOCK.findall(page.read_text(encoding="utf-8")):
            for line in block.replace("\\\n", " ").splitlines():
                if match := BLOCK_COMMAND.match(line.strip()):
                    found.append((_relative(page), match.group(1)))
    return found


@pytest.mark.parametrize(("page", "command"), _block_commands())
def test_every_command_in_a_code_block_parses_as_written(page: str, command: str) -> None:
    _parse(shlex.split(command, comments=True))


def test_every_command_named_in_the_prose_exists() -> None:
    unknown = []
    for page in PAGES:
        for spoken in INLINE_COMMAND.findall(page.read_text(encoding="utf-8")):
            first, *others = spoken.split("|")  # `pim bench ingest|projector`: each in the last word's place
            stem = first.split()[:-1]
            for alternative in [first, *(" ".join([*stem, other]) for other in others)]:
                command: Any = PIM
                for word in alternative.split("/")[0].split():  # `list/ack/…`: the first
                    if word.startswith(("-", "[", '"', "<")) or not isinstance(command, TyperGroup):
                        break  # options, or a command's own arguments
                    sub = command.commands.get(word)
                    if sub is None:  # a group takes a subcommand here
                        unknown.append(f"{_relative(page)}: pim {spoken}")
                        break
                    command = sub
    assert unknown == []
