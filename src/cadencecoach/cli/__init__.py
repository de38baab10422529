"""The command line (Typer): ``cli.app`` holds the app, its guard and the core commands (plan, render,
validate, workouts); ``live``, ``track``, ``history`` and ``convert`` each add a command group."""

import sys as _sys

if _sys.argv[1:2] in (["click"], ["run"], ["devices"]) and _sys.argv[0].endswith(("cadencecoach", "__main__.py")):
    # The live commands probe PortAudio in a child process before importing sounddevice (sinks.live.devices):
    # started here, before the command line's own imports, the probe costs their start-up nothing.
    from cadencecoach.sinks.live.devices import start_probe as _start_probe

    _start_probe()
