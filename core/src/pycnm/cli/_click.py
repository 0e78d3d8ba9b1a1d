"""``pycnm.cli.cli``: the command as a click command, for callers that drive it with click's
``CliRunner`` (the CLI itself no longer uses click; see :mod:`pycnm.cli`)."""

from __future__ import annotations

import click


@click.command(
    "pycnm", context_settings={"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []}
)
@click.argument("argv", nargs=-1, type=click.UNPROCESSED)
def cli(argv: tuple[str, ...]) -> None:
    """pycnm: Docker's Container Network Model, in Python."""
    from . import run

    rc = run(list(argv))
    if rc:
        raise SystemExit(rc)
