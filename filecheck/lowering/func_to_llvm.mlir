// RUN: terrace-opt %s -p convert-func-to-llvm --split-input-file | filecheck %s
// RUN: terrace-opt %s -p convert-func-to-llvm --split-input-file --print-op-generic | filecheck %s --check-prefix=GENERIC

// CHECK-LABEL: llvm.func internal @helper
// CHECK-SAME: (%{{.*}}: i64) -> f32
func.func private @helper(%i: index) -> f32 {
  %x = "test.op"() : () -> f32
  // CHECK: llvm.return %{{.*}} : f32
  func.return %x : f32
}

// -----

// The stage-3 @main gets noalias pointers and the packed entry loads 1 + 1 + 1 + 1 pointers.
// CHECK-LABEL: llvm.func @main
// CHECK-SAME: llvm.noalias
// CHECK-LABEL: llvm.func @terrace_main
// CHECK-SAME: (%[[PACKED:.*]]: !llvm.ptr)
// CHECK: %[[SLOT:.*]] = llvm.getelementptr %[[PACKED]][3] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: %[[WORKSPACE:.*]] = llvm.load %[[SLOT]] : !llvm.ptr -> !llvm.ptr
// CHECK: llvm.call @main(%{{.*}}, %{{.*}}, %{{.*}}, %[[WORKSPACE]])
func.func @main(%in: !llvm.ptr, %out: !llvm.ptr, %w: !llvm.ptr, %ws: !llvm.ptr) attributes {terrace.num_inputs = 1 : i64, terrace.num_outputs = 1 : i64, terrace.weights = ["w"], terrace.workspace_bytes = 64 : i64} {
  func.return
}

// -----

// A kernel's `no_inline` unit attribute becomes the llvm.func property (checked in the
// generic form, where properties and attributes print apart).
// CHECK-LABEL: llvm.func internal @kernel_0
// GENERIC: "llvm.func"() <{no_inline, sym_name = "kernel_0"
// GENERIC-SAME: linkage = #llvm.linkage<"internal">
// GENERIC-NOT: {no_inline}
func.func private @kernel_0(%p: !llvm.ptr) attributes {no_inline} {
  func.return
}
