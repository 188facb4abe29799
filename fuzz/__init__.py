"""Property-based fuzzing of Terrace's rewrites (docs/fuzzing.md).

`levels` holds the registry of levels (program generators and their oracles), `nn_programs`
the nn program strategy (ops from `nn_ops`, grown on an `nn_graph.Graph`), `pass_targets`
what a pass rewrites (so that programs are directed at it), `data` the input strategies,
`checker` the differential checker, `hypothesis_state` what keeps a seed reproducible,
`reproducer` the files it writes for each mismatch and `seed_table` how reliably wrong
rewrites are caught.
"""
