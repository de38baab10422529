from cadencecoach.cli import run

run()
