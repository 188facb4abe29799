// RUN: terrace-opt %s -p outline-kernels --split-input-file | filecheck %s
// RUN: terrace-opt %s -p 'outline-kernels{no_inline=false}' --split-input-file | filecheck %s --check-prefix=INLINABLE

// INLINABLE-NOT: no_inline

// Two relus that differ only in their buffers share one kernel; the fill keeps its constant
// (cloned into the kernel, erased from @main); views stay in @main.

// CHECK-LABEL: func.func @main
// CHECK-SAME:  (%[[X:[^:]*]]: memref<8xf32>, %[[OUT:[^:]*]]: memref<8xf32>, %[[WS:[^:]*]]: memref<64xi8>)
// CHECK-NOT:   arith.constant 0.0
// CHECK:       %[[T:.*]] = memref.view %[[WS]]
// CHECK-NEXT:  func.call @kernel_0(%[[X]], %[[T]]) : (memref<8xf32>, memref<8xf32>) -> ()
// CHECK-NEXT:  func.call @kernel_0(%[[T]], %[[OUT]]) : (memref<8xf32>, memref<8xf32>) -> ()
// CHECK-NEXT:  func.call @kernel_1(%[[T]]) : (memref<8xf32>) -> ()
// CHECK-NEXT:  func.return
// CHECK-NOT:   linalg
// CHECK-LABEL: func.func private @kernel_0
// CHECK-SAME:  (%[[A:.*]]: memref<8xf32>, %[[B:.*]]: memref<8xf32>) attributes {no_inline}
// CHECK-NEXT:  linalg.generic {{.*}} ins(%[[A]] : memref<8xf32>) outs(%[[B]] : memref<8xf32>)
// CHECK:       arith.maximumf
// CHECK:       func.return
// CHECK-LABEL: func.func private @kernel_1
// CHECK-SAME:  (%[[C:.*]]: memref<8xf32>)
// CHECK-NEXT:  %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:  linalg.fill ins(%[[ZERO]] : f32) outs(%[[C]] : memref<8xf32>)
// CHECK-NEXT:  func.return
// CHECK-NOT:   func.func private @kernel_2
#id = affine_map<(d0) -> (d0)>
func.func @main(%x: memref<8xf32>, %out: memref<8xf32>, %workspace: memref<64xi8>) {
  %offset = arith.constant 0 : index
  %t = memref.view %workspace[%offset][] : memref<64xi8> to memref<8xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%x : memref<8xf32>) outs(%t : memref<8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %zero = arith.constant 0.0 : f32
    %r = arith.maximumf %a, %zero : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%t : memref<8xf32>) outs(%out : memref<8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %zero = arith.constant 0.0 : f32
    %r = arith.maximumf %a, %zero : f32
    linalg.yield %r : f32
  }
  %fill = arith.constant 0.0 : f32
  linalg.fill ins(%fill : f32) outs(%t : memref<8xf32>)
  func.return
}

// -----

// Fills of different values, and ops whose operand pattern differs (one buffer twice versus
// two buffers), are different kernels.

// CHECK-LABEL: func.func @not_shared
// CHECK-SAME:  (%[[X:[^:]*]]: memref<4xf32>, %[[Y:[^:]*]]: memref<4xf32>)
// CHECK-NEXT:  func.call @kernel_0(%[[X]])
// CHECK-NEXT:  func.call @kernel_1(%[[X]])
// CHECK-NEXT:  func.call @kernel_2(%[[X]], %[[Y]])
// CHECK-NEXT:  func.call @kernel_3(%[[X]])
// CHECK-LABEL: func.func private @kernel_0
// CHECK:       arith.constant 1.000000e+00 : f32
// CHECK-LABEL: func.func private @kernel_1
// CHECK:       arith.constant 2.000000e+00 : f32
// CHECK-LABEL: func.func private @kernel_2
// CHECK-SAME:  (%{{.*}}: memref<4xf32>, %{{.*}}: memref<4xf32>)
// CHECK-LABEL: func.func private @kernel_3
// CHECK-SAME:  (%[[BOTH:[^:]*]]: memref<4xf32>)
// CHECK-NEXT:  linalg.generic {{.*}} ins(%[[BOTH]] : memref<4xf32>) outs(%[[BOTH]] : memref<4xf32>)
#id = affine_map<(d0) -> (d0)>
func.func @not_shared(%x: memref<4xf32>, %y: memref<4xf32>) {
  %one = arith.constant 1.0 : f32
  linalg.fill ins(%one : f32) outs(%x : memref<4xf32>)
  %two = arith.constant 2.0 : f32
  linalg.fill ins(%two : f32) outs(%x : memref<4xf32>)
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%x : memref<4xf32>) outs(%y : memref<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %e = math.exp %a : f32
    linalg.yield %e : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%x : memref<4xf32>) outs(%x : memref<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %e = math.exp %a : f32
    linalg.yield %e : f32
  }
  func.return
}

// -----

// A copy into a strided subview is a kernel on the subview's type; the subview stays in the
// caller. A memref read inside a generic body becomes an argument of the kernel.

// CHECK-LABEL: func.func @copy_and_capture
// CHECK-SAME:  (%[[SRC:[^:]*]]: memref<2x2xf32>, %[[TABLE:[^:]*]]: memref<3xf32>, %[[DST:[^:]*]]: memref<4x4xf32>)
// CHECK-NEXT:  %[[SUB:.*]] = memref.subview %[[DST]]
// CHECK-NEXT:  func.call @kernel_0(%[[SRC]], %[[SUB]]) : (memref<2x2xf32>, memref<2x2xf32, strided<[4, 1], offset: 5>>) -> ()
// CHECK-NEXT:  func.call @kernel_1(%[[SRC]], %[[TABLE]]) : (memref<2x2xf32>, memref<3xf32>) -> ()
// CHECK-NEXT:  func.return
// CHECK-LABEL: func.func private @kernel_0
// CHECK-SAME:  (%[[FROM:.*]]: memref<2x2xf32>, %[[TO:.*]]: memref<2x2xf32, strided<[4, 1], offset: 5>>)
// CHECK-NEXT:  "memref.copy"(%[[FROM]], %[[TO]])
// CHECK-LABEL: func.func private @kernel_1
// CHECK-SAME:  (%{{.*}}: memref<2x2xf32>, %[[T:[^:]*]]: memref<3xf32>)
// CHECK:       %[[I:.*]] = arith.constant 1 : index
// CHECK:       memref.load %[[T]][%[[I]]] : memref<3xf32>
#id2 = affine_map<(d0, d1) -> (d0, d1)>
func.func @copy_and_capture(%src: memref<2x2xf32>, %table: memref<3xf32>, %dst: memref<4x4xf32>) {
  %sub = memref.subview %dst[1, 1] [2, 2] [1, 1] : memref<4x4xf32> to memref<2x2xf32, strided<[4, 1], offset: 5>>
  "memref.copy"(%src, %sub) : (memref<2x2xf32>, memref<2x2xf32, strided<[4, 1], offset: 5>>) -> ()
  %i = arith.constant 1 : index
  linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%src : memref<2x2xf32>) outs(%src : memref<2x2xf32>) {
  ^bb0(%a: f32, %o: f32):
    %t = memref.load %table[%i] : memref<3xf32>
    %r = arith.addf %a, %t : f32
    linalg.yield %r : f32
  }
  func.return
}

// -----

// Private functions (kernels of an earlier run) are not outlined again.

// CHECK-LABEL: func.func private @helper
// CHECK-NEXT:  arith.constant 1.000000e+00 : f32
// CHECK-NEXT:  linalg.fill
// CHECK-NOT:   func.func private @kernel_0
func.func private @helper(%x: memref<4xf32>) {
  %one = arith.constant 1.0 : f32
  linalg.fill ins(%one : f32) outs(%x : memref<4xf32>)
  func.return
}
