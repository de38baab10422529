from cadencecoach.cli.app import run

run()
