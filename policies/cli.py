"""``stockplane policy``: check and inspect governance packs.

Exit codes: 0 valid; 1 the pack has mistakes (every one listed as ``file:line: …``);
2 the pack cannot be found or read at all.
"""

from __future__ import annotations

from typing import Annotated

import orjson
import typer
import yaml

from stockplane.errors import UsageError
from stockplane.settings import get_settings

from .loader import SECTIONS, PackError, load_pack, pack_sections

app = typer.Typer(help="Validate and show governance policy packs.", no_args_is_help=True)

PackArg = Annotated[
    str | None,
    typer.Option(
        "--policy-pack",
        help="A pack folder or built-in pack name (default: $STOCKPLANE_POLICY_PACK, else retail-omnichannel).",
    ),
]


def selected_pack(option: str | None) -> str | None:
    """The pack named on the command line, else in the environment, else the default."""
    return option or get_settings().policy_pack


@app.command()
def validate(
    folder: Annotated[
        str | None, typer.Argument(help="The pack folder (default: the selected pack).")
    ] = None,
    policy_pack: PackArg = None,
    output_format: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
) -> None:
    """Check a pack and every pack it extends; list every mistake with its file and line.

    \b
    Example:
      stockplane policy validate ./policies/acme-retail
    """
    if output_format not in ("text", "json"):
        raise UsageError(f"--format must be text or json, not {output_format!r}")
    try:
        pack = load_pack(folder or selected_pack(policy_pack))
    except PackError as exc:
        if output_format == "json":
            problems = [{"file": p.file, "line": p.line, "message": p.message} for p in exc.problems]
            typer.echo(
                orjson.dumps({"valid": False, "problems": problems}, option=orjson.OPT_INDENT_2).decode()
            )
        else:
            for problem in exc.problems:
                typer.echo(str(problem))
            typer.echo(f"{len(exc.problems)} problem(s)")
        raise typer.Exit(1) from None
    if output_format == "json":
        payload = {"valid": True, "pack": pack.label, "lineage": list(pack.lineage), "problems": []}
        typer.echo(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode())
        return
    lineage = " → ".join(pack.lineage)
    typer.echo(f"{pack.label} is valid ({lineage}; {len(pack.workflows)} workflows, {len(pack.slos)} SLOs)")


@app.command()
def show(
    section: Annotated[str | None, typer.Option(help=f"Only this section: {', '.join(SECTIONS)}.")] = None,
    output_format: Annotated[str, typer.Option("--format", help="yaml or json.")] = "yaml",
    policy_pack: PackArg = None,
) -> None:
    """Print the selected pack after `extends` is merged: the rules that will apply."""
    if section is not None and section not in SECTIONS:
        raise UsageError(f"--section must be one of {', '.join(SECTIONS)}, not {section!r}")
    if output_format not in ("yaml", "json"):
        raise UsageError(f"--format must be yaml or json, not {output_format!r}")
    pack = load_pack(selected_pack(policy_pack))
    data = pack_sections(pack)
    shown = {"pack": {"name": pack.name, "version": pack.version, "lineage": list(pack.lineage)}}
    shown.update({section: data.get(section, {})} if section else data)
    if output_format == "json":
        typer.echo(orjson.dumps(shown, option=orjson.OPT_INDENT_2).decode())
    else:
        typer.echo(yaml.safe_dump(shown, sort_keys=False, allow_unicode=True), nl=False)
