"""Benchmark: what a crafted .docx costs to refuse (time and peak memory, each in its own process).

Two archives of under 200 KB: 1.2 million one-word turns, and 5 million empty paragraphs. Before
the limits (python-docx building the whole tree, no turn limit) the first was accepted in about
9 s with a 1.1 GB peak and the second took about 10 s and 1.2 GB to refuse; with streaming and
the turn and paragraph limits both are refused in well under a second.

Usage: python bench/docx_limits_bench.py
"""

from __future__ import annotations

import io
import resource
import subprocess
import sys
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = {
    "1.2 M turns": (b"<w:p><w:r><w:t>T: x</w:t></w:r></w:p>", 1_200_000),
    "5 M empty paragraphs": (b"<w:p/>", 5_000_000),
}


def crafted_docx(paragraph: bytes, count: int) -> bytes:
    import docx

    template = io.BytesIO()
    docx.Document().save(template)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(template) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive,
    ):
        for member in source.infolist():
            body = source.read(member)
            if member.filename == "word/document.xml":
                head = body.partition(b"<w:body>")[0]
                body = head + b"<w:body>" + paragraph * count + b"</w:body></w:document>"
            archive.writestr(member.filename, body)
    return out.getvalue()


def measure(name: str) -> None:
    sys.path.insert(0, str(ROOT))
    from apps.transcripts.parsing import TranscriptImportError, parse_transcript

    content = crafted_docx(*CASES[name])
    started = time.perf_counter()
    try:
        outcome = f"accepted, {len(parse_transcript('crafted.docx', content).turns):,} turns"
    except TranscriptImportError as error:
        outcome = f"refused: {error.issues[0].message[:70]}"
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(
        f"{name:22} {len(content) // 1024:>5} KB zipped  {seconds:6.2f} s  {peak:>5} MB peak  {outcome}"
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        measure(sys.argv[2])
    else:
        for case in CASES:
            subprocess.run([sys.executable, __file__, "--one", case], check=True)
