"""Every test under tests/e2e is an `audio_server` test.

They get the `audio_server` marker (select them with ``-m audio_server``, drop them with
``-m "not audio_server"``) and are skipped, with the reason, when no private test PulseAudio
server is running (`server_available()` is false) -- e.g. a plain ``pytest`` on a developer's
machine. ``bash scripts/test.sh`` (and so CI) always starts that server, so there they always run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

try:  # tests/ is on sys.path (pytest's rootdir-relative "prepend" import of this package) ...
    import audio_server
except ImportError:  # ... or tests/ is itself a package
    from tests import audio_server  # type: ignore[no-redef]

E2E_DIR = Path(__file__).resolve().parent


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # This hook sees the items of the whole session: touch only ours. tryfirst, so that the
    # marker is in place before `-m` selection runs.
    ours = [item for item in items if E2E_DIR in Path(str(item.path)).resolve().parents]
    if not ours:
        return
    available = audio_server.server_available()
    skip = pytest.mark.skip(reason=audio_server.unavailable_reason()) if not available else None
    for item in ours:
        item.add_marker(pytest.mark.audio_server)
        if skip is not None:
            item.add_marker(skip)
