"""The runtime: loading compiled code into MCJIT (`jit`), the entry ABI (`abi`), compiled models
(`model`) and the on-disk cache of compiled code (`cache`)."""
