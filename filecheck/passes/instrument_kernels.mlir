// RUN: terrace-opt %s -p instrument-kernels | filecheck %s

// Mark 0 on entry, 2i+1 / 2i+2 around the i-th kernel call (a kernel called twice is two
// calls), 2n+1 before the return; views and calls of declarations are not bracketed. The map
// names each call's kernel, the ONNX nodes of its location (a fused location gives several)
// and the bytes of the memrefs it passes (two memref<8xf32>: 64).

// CHECK-LABEL: func.func @main
// CHECK-NEXT:  %[[M0:.*]] = arith.constant 0 : i64
// CHECK-NEXT:  func.call @terrace_profile_mark(%[[M0]]) : (i64) -> ()
// CHECK-NEXT:  arith.constant 0 : index
// CHECK-NEXT:  memref.view
// CHECK-NEXT:  %[[M1:.*]] = arith.constant 1 : i64
// CHECK-NEXT:  func.call @terrace_profile_mark(%[[M1]])
// CHECK-NEXT:  func.call @kernel_0(
// CHECK-NEXT:  %[[M2:.*]] = arith.constant 2 : i64
// CHECK-NEXT:  func.call @terrace_profile_mark(%[[M2]])
// CHECK-NEXT:  %[[M3:.*]] = arith.constant 3 : i64
// CHECK-NEXT:  func.call @terrace_profile_mark(%[[M3]])
// CHECK-NEXT:  func.call @kernel_1(
// CHECK-NEXT:  %[[M4:.*]] = arith.constant 4 : i64
// CHECK-NEXT:  func.call @terrace_profile_mark(%[[M4]])
// CHECK-NEXT:  func.call @helper(
// CHECK-NEXT:  %[[M5:.*]] = arith.constant 5 : i64
// CHECK-NEXT:  func.call @terrace_profile_mark(%[[M5]])
// CHECK-NEXT:  func.call @kernel_0(
// CHECK-NEXT:  %[[M6:.*]] = arith.constant 6 : i64
// CHECK-NEXT:  func.call @terrace_profile_mark(%[[M6]])
// CHECK-NEXT:  %[[M7:.*]] = arith.constant 7 : i64
// CHECK-NEXT:  func.call @terrace_profile_mark(%[[M7]])
// CHECK-NEXT:  func.return
// CHECK-LABEL: func.func private @kernel_0
// CHECK-NOT:   terrace_profile_mark(%
// CHECK:       func.func private @terrace_profile_mark(i64)
// CHECK-NEXT:  llvm.mlir.global external constant @terrace_profile_map
// CHECK-SAME{LITERAL}: ("{\22calls\22:[{\22kernel\22:\22kernel_0\22,\22nodes\22:[\22conv_1\22,\22relu_2\22],\22bytes\22:64},{\22kernel\22:\22kernel_1\22,\22nodes\22:[],\22bytes\22:32},{\22kernel\22:\22kernel_0\22,\22nodes\22:[\22conv_3\22],\22bytes\22:64}]}\00")
// CHECK-SAME:  !llvm.array<169 x i8>
func.func @main(%x: memref<8xf32>, %out: memref<8xf32>, %workspace: memref<64xi8>) {
  %offset = arith.constant 0 : index
  %t = memref.view %workspace[%offset][] : memref<64xi8> to memref<8xf32>
  func.call @kernel_0(%x, %t) : (memref<8xf32>, memref<8xf32>) -> () loc(fused["conv_1", "relu_2"])
  func.call @kernel_1(%t) : (memref<8xf32>) -> ()
  func.call @helper(%t) : (memref<8xf32>) -> ()
  func.call @kernel_0(%t, %out) : (memref<8xf32>, memref<8xf32>) -> () loc("conv_3")
  func.return
}
func.func private @kernel_0(%a: memref<8xf32>, %b: memref<8xf32>) {
  "memref.copy"(%a, %b) : (memref<8xf32>, memref<8xf32>) -> ()
  func.return
}
func.func private @kernel_1(%a: memref<8xf32>) {
  func.return
}
func.func private @helper(memref<8xf32>)
