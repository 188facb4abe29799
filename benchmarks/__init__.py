"""Benchmarks: the bundled workloads (`workloads`), the FLOP counter (`flops`), the timing of
Terrace against onnxruntime and numpy (`measure`), the report (`report`) and the runner
(`run`, `python -m terrace.benchmarks`) that writes RESULTS.md. `terrace bench` times one."""
