"""Generated blocks in the docs: the text between `<!-- name:start -->` and `<!-- name:end -->` in a markdown
file is written by a script (the measured tables of docs/english.md, docs/variants.md, docs/benchmarks.md) and
read back by the tests that check the docs still match what the scripts compute."""
from __future__ import annotations

from pathlib import Path


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def read(path: Path, name: str) -> str:
    """The block's text, stripped (KeyError if the file has no such block)."""
    start, end = markers(name)
    text = path.read_text()
    if start not in text or end not in text:
        raise KeyError(f"{path} has no {start} … {end} block")
    return text.split(start, 1)[1].split(end, 1)[0].strip()


def write(path: Path, name: str, body: str, heading: str | None = None) -> None:
    """Replace the block's text with `body`. A file without the block gets it appended under `heading` when one
    is given (otherwise that is an error: the block's place in the prose is chosen by hand)."""
    start, end = markers(name)
    text = path.read_text()
    block = f"{start}\n{body}\n{end}"
    if start in text:
        head, rest = text.split(start, 1)
        text = head + block + rest.split(end, 1)[1]
    elif heading is not None:
        text = f"{text.rstrip()}\n\n{heading}\n\n{block}\n"
    else:
        raise KeyError(f"{path} has no {start} … {end} block")
    path.write_text(text)
