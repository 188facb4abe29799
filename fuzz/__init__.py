"""Property-based fuzzing of Terrace's rewrites (docs/fuzzing.md).

`levels` holds the registry of levels (program generators and their oracles), `nn_programs`
the nn program strategy, `data` the input strategies, `checker` the differential checker and
`reproducer` the files it writes for each mismatch.
"""
