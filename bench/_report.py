"""Writing a benchmark's table into docs/benchmarks.md, between markers of its own."""

from __future__ import annotations

import datetime
import os
import pathlib
import platform


def write_section(path: str, name: str, title: str, body: str) -> None:
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    stamp = datetime.date.today().isoformat()  # noqa: DTZ011 - the calendar day where it was measured
    section = (
        f"{begin}\n## {title}\n\nMeasured {stamp} on {platform.node() or 'this machine'}"
        f" ({os.cpu_count()} CPUs, kernel {platform.release()}).\n\n{body}\n{end}"
    )
    text = (
        pathlib.Path(path).read_text()
        if os.path.exists(path)
        else "# Benchmarks\n\nWritten by the scripts in bench/.\n"
    )
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    with open(path, "w") as fh:
        fh.write(text)
