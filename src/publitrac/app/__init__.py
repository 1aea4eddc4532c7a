"""`publitrac app`: the push app (`publitrac.widgets.PushApp`) served in the browser by Voilà.

The app's notebook, `push-app.ipynb`, ships inside the package (so the command works from a wheel); Voilà runs
it with its code hidden. The command also runs one local sandbox that every page of the app shares, so that a
reload or a second tab finds the same sandbox (and no port is taken twice), and culls idle kernels.

Example:
    >>> from publitrac.app import NOTEBOOK
    >>> NOTEBOOK.name
    'push-app.ipynb'

May import: `base`, `publitrac/`, `sandbox/`, `widgets/` (the order is checked by `tests/test_structure.py`).
"""

from __future__ import annotations

from ._serve import NOTEBOOK, add_arguments, run

__all__ = ["NOTEBOOK", "add_arguments", "run"]
