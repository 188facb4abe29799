# lit configuration for Terrace's FileCheck tests: `lit -sv filecheck`.
#
# RUN lines call `terrace-opt` and the Python `filecheck` from PATH (the Makefile puts the
# project's venv first), as xDSL's own tests do:
#   // RUN: terrace-opt %s -p nn-canonicalize --split-input-file | filecheck %s
import os
import shutil

import lit.formats

# lit runs this file with `config` and `lit_config` already defined.

config.name = "Terrace"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".test"]
# Inputs/ holds files that RUN lines read, not tests; lit.cfg.py is this file.
config.excludes = ["Inputs", "lit.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
# Output/ folders land beside the tests (filecheck/**/Output, ignored by git).
config.test_exec_root = config.test_source_root

# A missing tool would fail every test with "command not found": say it once, clearly.
for tool in ("terrace-opt", "filecheck"):
    if shutil.which(tool, path=config.environment.get("PATH", os.environ.get("PATH"))) is None:
        lit_config.fatal(f"{tool} is not on PATH; run `make lit` or put the venv's bin/ first")

# Upstream MLIR (Debian's mlir-22-tools, installed by `make system-packages`) checks that the
# IR Terrace prints is MLIR upstream reads; files that need it say `REQUIRES: mlir-opt-22`.
# Missing where apt could install it is an error; only without apt do those files not run.
if shutil.which("mlir-opt-22", path=config.environment.get("PATH", os.environ.get("PATH"))):
    config.available_features.add("mlir-opt-22")
elif shutil.which("apt-get"):
    lit_config.fatal("mlir-opt-22 is not on PATH: run `make system-packages` (mlir-22-tools)")
else:
    lit_config.warning(
        "mlir-opt-22 is not installed and apt-get is not here: tests that "
        "REQUIRE mlir-opt-22 do not run"
    )
