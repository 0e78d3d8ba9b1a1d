"""The hook reference of docs/drivers.md, generated from :mod:`pycnm.hookspecs`.

``python -m pycnm._guide docs/drivers.md`` rewrites the part between the markers; a test fails
when the file and the hookspecs disagree.
"""

from __future__ import annotations

import inspect
import pathlib
import re
import sys

from . import hookspecs

BEGIN, END = "<!-- hook-reference:begin -->", "<!-- hook-reference:end -->"
SECTIONS = (
    ("Network driver calls", hookspecs.NetworkDriverSpec),
    ("Peers of global networks", hookspecs.PeerSpec),
    ("IPAM driver calls", hookspecs.IPAMDriverSpec),
    ("Plugin hooks (pycnm.plugins)", hookspecs.HostSpec),
    ("Driver sources (pycnm.plugins)", hookspecs.DriverSourceSpec),
)


def hook_names() -> set[str]:
    return {name for _, spec in SECTIONS for name in vars(spec) if name.startswith(("cnm_", "ipam_"))}


def reference() -> str:
    out = [BEGIN, "", "_Generated from `pycnm/hookspecs.py` by `python -m pycnm._guide docs/drivers.md`._", ""]
    for title, spec in SECTIONS:
        out += [f"### {title}", ""]
        for name, fn in vars(spec).items():
            if not name.startswith(("cnm_", "ipam_")):
                continue
            params = ", ".join(p for p in inspect.signature(fn).parameters if p != "self")
            required = name in hookspecs.REQUIRED_NETWORK_HOOKS + hookspecs.REQUIRED_IPAM_HOOKS
            out += [f"#### `{name}({params})`" + (" (required)" if required else ""), ""]
            out += [inspect.getdoc(fn) or "", ""]
    out.append(END)
    return "\n".join(out)


def update(path: str) -> bool:
    text = pathlib.Path(path).read_text()
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    new = head + reference() + tail
    if new != text:
        with open(path, "w") as fh:
            fh.write(new)
        return True
    return False


def names_in(text: str) -> set[str]:
    return set(re.findall(r"(?<![.\w])(?:cnm|ipam)_[a-z_]+\b", text))  # not pycnm.ipam_drivers


if __name__ == "__main__":
    print("updated" if update(sys.argv[1]) else "up to date")
