"""`python -m terrace.conformance`: the same as `terrace conformance`."""

from __future__ import annotations

import sys

from ..tools.conformance_command import main

if __name__ == "__main__":
    sys.exit(main())
