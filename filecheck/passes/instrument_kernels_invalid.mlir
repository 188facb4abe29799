// RUN: not terrace-opt %s -p instrument-kernels 2>&1 | filecheck %s

// Without @main there is nothing to instrument: an error, not a silent no-op.
// CHECK: instrument-kernels: the module has no func.func @main
func.func @other() {
  func.return
}
