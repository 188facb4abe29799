"""`python -m terrace.benchmarks`: run the bundled workloads and write benchmarks/RESULTS.md."""

import sys

from .run import main

sys.exit(main())
