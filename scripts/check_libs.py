"""Check that every compiled extension module and bundled library in a virtualenv finds its shared libraries.

    python scripts/check_libs.py [VENV]          (default: .venv)

Runs ``ldd`` on every ELF shared object under the venv's site-packages and lists the libraries that
``ldd`` reports as "not found", with the files that need them. Exit code 1 when any is missing, 0 otherwise.

scripts/fresh-check.sh runs it inside a fresh Debian 12 root after ``scripts/install.sh``: a wheel that
links against a system library which install.sh does not install (``pedalboard`` -> ``libatomic.so.1``,
Debian's ``libatomic1``) shows up here instead of as an ImportError in a user's hands.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ELF_MAGIC = b"\x7fELF"


def shared_objects(site: Path) -> list[Path]:
    found = []
    for path in site.rglob("*.so*"):
        if not path.is_file() or path.is_symlink():
            continue
        name = path.name
        if not (name.endswith(".so") or ".so." in name):
            continue
        try:
            with path.open("rb") as fh:
                if fh.read(4) != ELF_MAGIC:
                    continue
        except OSError:
            continue
        found.append(path)
    return sorted(found)


def missing_libs(path: Path) -> list[str]:
    # auditwheel's vendored libraries (pkg.libs/) name their siblings without an RPATH of their own: at
    # run time the extension module's RPATH ($ORIGIN/../pkg.libs) finds them, so look there as well.
    env = {**os.environ, "LD_LIBRARY_PATH": str(path.parent)} if path.parent.name.endswith(".libs") else None
    proc = subprocess.run(["ldd", str(path)], capture_output=True, text=True, check=False, env=env)
    missing = []
    for line in proc.stdout.splitlines():
        if "=> not found" in line:
            missing.append(line.split("=>", 1)[0].strip())
    return missing


def main(argv: list[str]) -> int:
    venv = Path(argv[1] if len(argv) > 1 else ".venv").resolve()
    sites = sorted(venv.glob("lib/python3*/site-packages"))
    if not sites:
        print(f"check_libs: no site-packages under {venv}", file=sys.stderr)
        return 2
    files = [p for site in sites for p in shared_objects(site)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(missing_libs, files))

    need: dict[str, list[str]] = defaultdict(list)
    for path, libs in zip(files, results, strict=True):
        rel = next(str(path.relative_to(s)) for s in sites if s in path.parents)
        for lib in libs:
            need[lib].append(rel)

    print(f"check_libs: {len(files)} shared objects under {venv} checked with ldd")
    if not need:
        print("check_libs: every library they need is installed")
        return 0
    for lib, users in sorted(need.items()):
        shown = ", ".join(users[:5]) + (f" and {len(users) - 5} more" if len(users) > 5 else "")
        print(f"  MISSING {lib} <- {shown}")
    print("check_libs: install the system packages that provide these (scripts/install.sh, APT_PACKAGES)")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
