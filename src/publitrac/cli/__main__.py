"""`python -m publitrac.cli`: the `publitrac` command."""

import sys

from ._main import main

sys.exit(main())
