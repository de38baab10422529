"""The command line (Typer): ``cli.app`` holds the app, its guard and the core commands (plan, render,
validate, workouts); ``live``, ``track``, ``history`` and ``convert`` each add a command group."""
