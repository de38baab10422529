"""``python -m cadencecoach`` and the ``cadencecoach`` command.

A Ctrl-C while the command line's modules load (before its stop handlers are in place, the first ~0.3 s) ends
like any other stop: ``stopped.`` and exit 130, not a traceback.
"""

import sys


def entry() -> None:
    try:
        from cadencecoach.cli.app import run
    except KeyboardInterrupt:
        sys.stderr.write("stopped.\n")
        exec("")  # clears CPython's "unhandled interrupt" mark (see cli.app._forget_caught_interrupt)
        raise SystemExit(130) from None
    run()


if __name__ == "__main__":  # not when a worker process (multiprocessing spawn) imports it
    entry()
