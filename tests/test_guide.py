"""docs/writing-a-pass.md runs as written: its blocks, in order, in a scratch folder.

A fenced block whose info string has `file=NAME` is written to NAME; an `sh` block runs in bash
(`set -e`, the venv's bin first on PATH), and the `text` block right after it lists lines its
output must contain; a `quote=PATH` block must appear in that file of the tree verbatim."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "writing-a-pass.md"
EXAMPLE = ROOT / "docs" / "examples" / "erase_redundant_relu.py"

_FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Block:
    language: str
    options: dict[str, str]
    text: str


def blocks(markdown: str) -> list[Block]:
    found: list[Block] = []
    for match in _FENCE.finditer(markdown):
        language, *words = match.group(1).split()
        options = dict(word.split("=", 1) for word in words if "=" in word)
        found.append(Block(language, options, match.group(2)))
    return found


def test_the_guide_runs_as_written(tmp_path: Path):
    environment = dict(os.environ)
    environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environment['PATH']}"
    environment["TERRACE_CACHE_DIR"] = str(tmp_path / "cache")
    guide = blocks(GUIDE.read_text())
    assert sum(b.language == "sh" for b in guide) >= 5
    output = None
    for block in guide:
        if "file" in block.options:
            (tmp_path / block.options["file"]).write_text(block.text)
        elif "quote" in block.options:
            source = (ROOT / block.options["quote"]).read_text()
            assert block.text in source, f"the guide's quote of {block.options['quote']} is stale"
        elif block.language == "sh":
            result = subprocess.run(
                ["bash", "-e", "-o", "pipefail", "-c", block.text],
                cwd=tmp_path,
                env=environment,
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert result.returncode == 0, f"{block.text}\n{result.stdout}\n{result.stderr}"
            output = result.stdout + result.stderr
        elif block.language == "text":
            assert output is not None, "a text block must follow an sh block"
            for line in block.text.splitlines():
                assert line.strip() in output, f"missing {line.strip()!r} in:\n{output}"
            output = None


def test_the_guide_and_the_example_file_hold_the_same_pass():
    (example,) = [b for b in blocks(GUIDE.read_text()) if b.options.get("file") == EXAMPLE.name]
    assert example.text == EXAMPLE.read_text()
