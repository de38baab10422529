"""``cadencecoach sensors``: the Bluetooth footpods and watches in reach (Running Speed and Cadence service),
to pick one for ``run --sensor ble:NAME_OR_ADDRESS``. Registered by cli/app.py (``register(app)``); like
cli/live.py this module has no ``from __future__ import annotations`` so Typer sees real annotation objects.
"""

import json
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add ``sensors`` to `app`."""
    from cadencecoach.cli.app import guard

    @app.command(
        epilog=(
            "Examples:\n\n  cadencecoach sensors\n\n  cadencecoach sensors --timeout 10 --all\n\n"
            "  cadencecoach run 10x400 --sensor ble:Stryd\n\n"
            "Needs the sensors extra (pip install 'cadencecoach[sensors]') and Bluetooth (BlueZ)."
        )
    )
    @guard
    def sensors(
        timeout: Annotated[
            float, typer.Option("--timeout", metavar="SECONDS", min=1.0, max=60.0, help="How long to listen.")
        ] = 5.0,
        all_devices: Annotated[
            bool, typer.Option("--all", help="Every Bluetooth LE device heard, not only footpods and watches.")
        ] = False,
        as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
    ) -> None:
        """List the Bluetooth footpods and watches in reach (name, address, signal)."""
        from cadencecoach.sensors.ble import scan
        from cadencecoach.terminal import console, safe_text

        found = scan(timeout, all_devices=all_devices)
        if as_json:
            rows = [
                {"name": f.name, "address": f.address, "rssi": f.rssi, "footpod": f.footpod, "services": f.services}
                for f in found
            ]
            print(json.dumps({"timeout_s": timeout, "devices": rows}, indent=2))
            return
        out = console()
        if not found:
            what = "Bluetooth LE devices" if all_devices else "footpods or watches (Running Speed and Cadence)"
            out.print(f"no {what} heard in {timeout:g} s: is it awake (walk a few steps) and not paired elsewhere?")
            return
        from rich.table import Table
        from rich.text import Text

        table = Table(box=None, pad_edge=False)
        for column in ("name", "address", "signal", "footpod"):
            table.add_column(column, justify="right" if column == "signal" else "left")
        for f in found:
            table.add_row(
                Text(safe_text(f.name or "(no name)")),
                f.address,
                "" if f.rssi is None else f"{f.rssi} dBm",
                "yes" if f.footpod else "",
            )
        out.print(table)
        out.print(f"use one: cadencecoach run WORKOUT --sensor ble:{found[0].address}")
