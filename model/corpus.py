"""The real-English corpus of the default model, built from Debian packages this machine can install.

    python -m model.corpus            # installs the packages when missing, writes artifacts/corpus/

Sources (both redistributable; their notices are kept in docs/corpus.md):
- `austen`: Jane Austen's six novels (public domain), from Debian `r-cran-janeaustenr` (MIT packaging). The R
  package stores them in a lazy-load database (`data/Rdata.rdx` index + `Rdata.rdb` zlib chunks), read here with
  PyPI `rdata`. One document per chapter; paragraphs keep their line break.
- `wordnet`: the example sentences of WordNet 3.0's glosses (the quoted parts after `|`), from Debian
  `wordnet-base` (WordNet 3.0 licence: permissive, the copyright notice must be kept). One document each.

Documents are separated by the tokenizer's end-of-text token when they are packed, so the last word of one never
glues to the first word of the next. Every 20th document of each source is held out (never trained on).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import struct
import subprocess
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS_DIR = ROOT / "artifacts" / "corpus"
AUSTEN_DB = Path("/usr/lib/R/site-library/janeaustenr/data/Rdata")
WORDNET_DIR = Path("/usr/share/wordnet")
HELD_OUT_EVERY = 20  # document i is held out when i % 20 == 19


@dataclass(frozen=True)
class Source:
    name: str
    debian_package: str
    licence: str
    notice_file: str  # the package's copyright file, whose notice docs/corpus.md keeps


SOURCES = {
    "austen": Source("austen", "r-cran-janeaustenr", "public domain text; MIT packaging (Julia Silge)",
                     "/usr/share/doc/r-cran-janeaustenr/copyright"),
    "wordnet": Source("wordnet", "wordnet-base", "WordNet 3.0 licence (Princeton University), notice kept",
                      "/usr/share/doc/wordnet-base/copyright"),
}


def ensure_packages() -> None:
    """apt-get install the Debian packages that hold the sources, when their files are missing."""
    missing = [s.debian_package for s, path in ((SOURCES["austen"], AUSTEN_DB.with_suffix(".rdb")),
                                                 (SOURCES["wordnet"], WORDNET_DIR / "data.noun"))
               if not path.exists()]
    if not missing:
        return
    if shutil.which("apt-get") is None:
        raise RuntimeError(f"the corpus needs the Debian packages {missing}; install them first")
    sudo = [] if _is_root() else ["sudo"]
    subprocess.run(sudo + ["apt-get", "update", "-qq"], check=True)
    subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", *missing], check=True,
                   env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})


def _is_root() -> bool:
    import os
    return os.geteuid() == 0


def austen_novels() -> dict[str, list[str]]:
    """{novel: its lines}, read from the R lazy-load database (an RDS index of offsets into zlib chunks)."""
    import rdata
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rdata warns that the .rdx extension is not .rds; the format is RDS
        index = rdata.conversion.convert(rdata.parser.parse_file(AUSTEN_DB.with_suffix(".rdx")))
        blob = AUSTEN_DB.with_suffix(".rdb").read_bytes()
        novels = {}
        for name, (offset, length) in index["variables"].items():
            chunk = blob[int(offset):int(offset) + int(length)]
            (size,) = struct.unpack(">I", chunk[:4])
            raw = zlib.decompress(chunk[4:])
            assert len(raw) == size, f"{name}: chunk of {len(raw)} bytes, header says {size}"
            novels[str(name)] = [str(line) for line in rdata.conversion.convert(rdata.parser.parse_data(raw))]
    return dict(sorted(novels.items()))


_CHAPTER = re.compile(r"^(CHAPTER|Chapter)\s+[0-9IVXLC]+\.?\s*$")


def austen_documents() -> list[str]:
    """One document per chapter: paragraphs (blank-line separated in the source) joined by a newline, lines of a
    paragraph by a space. Title pages and volume headings are dropped."""
    docs = []
    for lines in austen_novels().values():
        chapter: list[str] = []
        paragraph: list[str] = []

        def end_paragraph():
            if paragraph:
                chapter.append(" ".join(paragraph))
                paragraph.clear()

        def end_chapter():
            end_paragraph()
            if len(chapter) > 2:  # a real chapter, not the title page
                docs.append("\n".join(chapter))
            chapter.clear()

        for line in lines:
            line = line.strip()
            if _CHAPTER.match(line):
                end_chapter()
            elif not line:
                end_paragraph()
            elif not re.fullmatch(r"VOLUME [IVX]+|END OF VOLUME [IVX]+\.?|THE END\.?|FINIS", line):
                paragraph.append(line.replace("_", ""))  # _emphasis_ marks of the Gutenberg text
        end_chapter()
    return docs


_QUOTED = re.compile(r'"([^"]+)"')


def wordnet_sentences() -> list[str]:
    """The example sentences in WordNet's glosses, in file order, each once."""
    seen, out = set(), []
    for pos in ("noun", "verb", "adj", "adv"):
        for line in (WORDNET_DIR / f"data.{pos}").read_text(encoding="latin-1").splitlines():
            if line.startswith("  ") or "|" not in line:  # licence header lines start with two spaces
                continue
            for example in _QUOTED.findall(line.split("|", 1)[1]):
                s = example.strip().strip(";").strip()
                s = s[0].upper() + s[1:] if s and s[0].islower() else s
                if len(s.split()) >= 3 and s not in seen:  # each sentence once, so held-out ones are unseen
                    seen.add(s)
                    out.append(s)
    return out


def split(docs: list[str]) -> tuple[list[str], list[str]]:
    """(train, held_out): every HELD_OUT_EVERY-th document is held out."""
    train = [d for i, d in enumerate(docs) if i % HELD_OUT_EVERY != HELD_OUT_EVERY - 1]
    held = [d for i, d in enumerate(docs) if i % HELD_OUT_EVERY == HELD_OUT_EVERY - 1]
    return train, held


def build(out: Path = CORPUS_DIR) -> dict:
    """Write `<out>/<source>.{train,heldout}.jsonl` (one JSON string per document) and `manifest.json`."""
    ensure_packages()
    out.mkdir(parents=True, exist_ok=True)
    manifest = {"held_out_every": HELD_OUT_EVERY, "sources": {}}
    for name, docs in (("austen", austen_documents()), ("wordnet", wordnet_sentences())):
        train, held = split(docs)
        for part, rows in (("train", train), ("heldout", held)):
            with open(out / f"{name}.{part}.jsonl", "w", encoding="utf-8") as f:
                for d in rows:
                    f.write(json.dumps(d, ensure_ascii=False) + "\n")
        src = SOURCES[name]
        text = "".join(docs).encode()
        manifest["sources"][name] = {
            "debian_package": src.debian_package, "licence": src.licence, "notice": src.notice_file,
            "documents": len(docs), "train_documents": len(train), "heldout_documents": len(held),
            "characters": sum(map(len, docs)), "sha256": hashlib.sha256(text).hexdigest()}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def load(part: str, out: Path = CORPUS_DIR) -> dict[str, list[str]]:
    """{source: documents} of `part` ("train" or "heldout"), building the corpus first if it is missing."""
    if not (out / "manifest.json").exists():
        build(out)
    return {name: [json.loads(line) for line in open(out / f"{name}.{part}.jsonl", encoding="utf-8")]
            for name in SOURCES}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Build the real-English corpus from Debian packages.")
    ap.add_argument("--out", type=Path, default=CORPUS_DIR)
    manifest = build(ap.parse_args(argv).out)
    for name, s in manifest["sources"].items():
        print(f"{name}: {s['documents']} documents ({s['heldout_documents']} held out), {s['characters']:,} "
              f"characters, sha256 {s['sha256'][:12]}")


if __name__ == "__main__":
    main()
