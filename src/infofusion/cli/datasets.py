"""``infofusion datasets``: list the dataset loaders and summarise a dataset."""

from __future__ import annotations

import typer

from infofusion.cli.options import parse_options  # noqa: F401  (re-exported for tests)


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="Dataset loaders: list them, summarise a dataset.", no_args_is_help=True
    )

    @group.command("list")
    def list_cmd() -> None:
        """List the registered dataset loaders (use as --data NAME:ARG)."""
        from rich.console import Console
        from rich.table import Table

        from infofusion.registry import describe

        table = Table("name", "description")
        for name, doc in describe("dataset").items():
            table.add_row(name, doc)
        Console().print(table)

    @group.command("info")
    def info_cmd(
        spec: str | None = typer.Argument(
            None,
            metavar="SPEC",
            help="Dataset spec, e.g. uci_mfeat or mmsa:/path/aligned_50.pkl",
            show_default=False,
        ),
        data: str | None = typer.Option(
            None, "--data", help="Dataset spec (same as the argument)", show_default=False
        ),
        opt: list[str] = typer.Option(
            None, "--set", "--opt", "-o", help="Loader option KEY=VALUE (repeatable), e.g. --set fold=2"
        ),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    ) -> None:
        """Load a dataset and print its modalities, dims, sequence lengths and split sizes.

        The dataset is named by the argument (`datasets info uci_mfeat`) or by --data.
        """
        import json

        from infofusion.data.formats import dataset_info

        if spec is not None and data is not None and spec != data:
            raise typer.BadParameter(
                f"two dataset specs given ({spec!r} and --data {data!r}); give one"
            )
        spec = spec if spec is not None else data
        if spec is None:
            raise typer.BadParameter("name the dataset: `datasets info SPEC` or --data SPEC")
        info = dataset_info(spec, **parse_options(opt))
        if as_json:
            typer.echo(json.dumps(info, indent=2, default=str))
            return
        _print_info(info)

    app.add_typer(group, name="datasets")


def _print_info(info: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(
        f"[bold]{info['name']}[/bold]  task={info['task']}  n={info['n']}"
        + (f"  classes={info['n_classes']}" if info.get("n_classes") else "")
        + (f"  protocol={info['protocol']}" if info.get("protocol") else "")
    )
    mods = Table("modality", "dim", "seq_len", "mean length")
    for name, m in info["modalities"].items():
        ml = m.get("mean_length")
        mods.add_row(
            name, str(m["dim"]), str(m.get("seq_len", "-")), "-" if ml is None else f"{ml:.1f}"
        )
    console.print(mods)
    console.print("splits: " + ", ".join(f"{k}={v}" for k, v in info["splits"].items()))
    if "class_counts" in info:
        console.print(f"class counts: {info['class_counts']}")
    if "target_range" in info:
        console.print(f"target range: [{info['target_range'][0]:g}, {info['target_range'][1]:g}]")
    skip = {
        "name",
        "task",
        "n",
        "n_classes",
        "splits",
        "modalities",
        "class_counts",
        "target_range",
        "protocol",
        "spec",
    }
    for k, v in info.items():
        if k not in skip and v not in (None, [], {}):
            console.print(f"{k}: {v}")
