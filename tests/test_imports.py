"""Every shipped module imports on its own, first: no import-time loop hides behind an order.

The layering check reasons about the import graph; this runs the imports. In one child
interpreter each module is imported with every shipped module forgotten first, so that it is
the first of the tree to load, whatever the test session imported before.
"""

from __future__ import annotations

import subprocess
import sys

from tests.layering import ROOT, SHIPPED, shipped_modules

CHILD = """
import importlib, sys, traceback
shipped = {shipped!r}
failed = []
for name in {names!r}:
    for loaded in [m for m in sys.modules if m.split(".")[0] in shipped]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception:
        failed.append(name + ": " + traceback.format_exc().strip().splitlines()[-1])
print("\\n".join(failed))
"""


def test_each_shipped_module_imports_first_on_its_own() -> None:
    names = sorted(shipped_modules())
    done = subprocess.run([sys.executable, "-c", CHILD.format(shipped=SHIPPED, names=names)],
                          cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "", done.stdout
