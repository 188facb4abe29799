"""terrace tune (docs/tuning.md, the design in TUNING.md): analytical defaults, the search space
of the micro-kernel's options, the JSONL records database, measurement in child processes,
seeded local search and the task scheduler.

`analytical.py`, `config.py` and `records.py` are leaves (numpy, json and hashlib only): the
`apply-tuning` pass (passes/apply_tuning.py) reads them while it lowers. The rest sits above the
compile driver and may import anything.
"""
