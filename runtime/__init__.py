"""The runtime: host JIT (`jit`), the entry ABI (`abi`), compiled models (`model`) and the
on-disk cache of compiled code (`cache`)."""
