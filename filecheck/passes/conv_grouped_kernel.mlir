// RUN: terrace-opt %s -p conv-grouped-kernel --split-input-file | filecheck %s
// RUN: terrace-opt %s -p 'conv-grouped-kernel{lanes=4 rows=2 accumulators=4 fma=false}' --split-input-file | filecheck %s --check-prefix=SMALL

// A 1x1 convolution with 2 groups of 4 input and 3 output channels over 3x7 = 21 pixels, its
// bias and relu. One scf.parallel over (n, group, row block, pixel tile): 3 rows per tile
// (the group's 3 channels), 16 lanes, two vectors per row (21 pixels: one tile, a full
// vector and a partial one); the bias starts the accumulators, the loop over the
// group's 4 input channels loads each input vector once for the 3 rows (one weight load and
// broadcast per row), the relu runs on the accumulators and the only stores are masked
// where the pixels end. The bias fill, the relu generic and the intermediate buffer are gone.

// CHECK-LABEL: func.func @bias_relu
// CHECK-SAME:  (%[[X:[^:]*]]: memref<1x8x3x7xf32>, %[[W:[^:]*]]: memref<6x4x1x1xf32>, %[[B:[^:]*]]: memref<6xf32>, %[[OUT:[^:]*]]: memref<1x6x3x7xf32>)
// CHECK-NOT:   memref.alloc
// CHECK-DAG:   %[[XV:.*]] = memref.collapse_shape %[[X]] {{.*}} into memref<1x8x21xf32>
// CHECK-DAG:   %[[OV:.*]] = memref.collapse_shape %[[OUT]] {{.*}} into memref<1x6x21xf32>
// CHECK:       "scf.parallel"
// CHECK-SAME:  operandSegmentSizes = array<i32: 4, 4, 4, 0>
// CHECK:       %[[BIAS:.*]] = memref.load %[[B]]
// CHECK-NEXT:  vector.broadcast %[[BIAS]] : f32 to vector<16xf32>
// CHECK:       scf.for %[[IC:.*]] = {{.*}} iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK:         %[[IN0:.*]] = vector.load %[[XV]]
// CHECK:         %[[IN1:.*]] = vector.maskedload %[[XV]]
// CHECK:         %[[WEIGHT:.*]] = memref.load %[[W]][%{{.*}}, %[[IC]], %{{.*}}, %{{.*}}]
// CHECK-NEXT:    %[[SPLAT:.*]] = vector.broadcast %[[WEIGHT]]
// CHECK-NEXT:    vector.fma %[[SPLAT]], %[[IN0]]
// CHECK-NEXT:    vector.fma %[[SPLAT]], %[[IN1]]
// CHECK:         scf.yield
// CHECK:       %[[RELU:.*]] = arith.maximumf %{{.*}}, %{{.*}} : vector<16xf32>
// CHECK:       vector.store %[[RELU]], %[[OV]]
// CHECK:       vector.maskedstore %[[OV]]
// CHECK-NOT:   linalg.generic
// CHECK-NOT:   memref.dealloc

// SMALL-LABEL: func.func @bias_relu
// SMALL:       "scf.parallel"
// SMALL:       arith.minui
// SMALL:       scf.if
// SMALL-NOT:   vector.fma
// SMALL:       %[[PRODUCT:.*]] = arith.mulf %{{.*}}, %{{.*}} : vector<4xf32>
// SMALL-NEXT:  arith.addf %{{.*}}, %[[PRODUCT]] : vector<4xf32>
// SMALL-NOT:   vector<16xf32>
#in = affine_map<(n, oc, y, x, ic) -> (n, (oc floordiv 3) * 4 + ic, y, x)>
#w = affine_map<(n, oc, y, x, ic) -> (oc, ic, 0, 0)>
#out = affine_map<(n, oc, y, x, ic) -> (n, oc, y, x)>
#id = affine_map<(n, c, y, x) -> (n, c, y, x)>
#bias = affine_map<(n, c, y, x) -> (c)>
func.func @bias_relu(%x: memref<1x8x3x7xf32>, %w: memref<6x4x1x1xf32>, %b: memref<6xf32>, %out: memref<1x6x3x7xf32>) {
  %acc = memref.alloc() : memref<1x6x3x7xf32>
  linalg.generic {indexing_maps = [#bias, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%b : memref<6xf32>) outs(%acc : memref<1x6x3x7xf32>) {
  ^bb0(%v: f32, %o: f32):
    linalg.yield %v : f32
  }
  linalg.generic {indexing_maps = [#in, #w, #out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%x, %w : memref<1x8x3x7xf32>, memref<6x4x1x1xf32>) outs(%acc : memref<1x6x3x7xf32>) {
  ^bb0(%i: f32, %k: f32, %a: f32):
    %p = arith.mulf %i, %k : f32
    %s = arith.addf %a, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%acc : memref<1x6x3x7xf32>) outs(%out : memref<1x6x3x7xf32>) {
  ^bb0(%v: f32, %o: f32):
    %c0 = arith.constant 0.000000e+00 : f32
    %r = arith.maximumf %v, %c0 : f32
    linalg.yield %r : f32
  }
  func.return
}

// -----

// A grouped convolution with a window is not this kernel's (contraction-microkernel takes
// its expanded form).

// CHECK-LABEL: func.func @windowed
// CHECK:       linalg.generic
// CHECK-NOT:   vector.fma
#in3 = affine_map<(n, oc, y, x, ic, ky, kx) -> (n, (oc floordiv 2) * 2 + ic, y + ky, x + kx)>
#w3 = affine_map<(n, oc, y, x, ic, ky, kx) -> (oc, ic, ky, kx)>
#out3 = affine_map<(n, oc, y, x, ic, ky, kx) -> (n, oc, y, x)>
func.func @windowed(%x: memref<1x4x6x6xf32>, %w: memref<4x2x3x3xf32>, %out: memref<1x4x4x4xf32>) {
  linalg.generic {indexing_maps = [#in3, #w3, #out3], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]} ins(%x, %w : memref<1x4x6x6xf32>, memref<4x2x3x3xf32>) outs(%out : memref<1x4x4x4xf32>) {
  ^bb0(%i: f32, %k: f32, %a: f32):
    %p = arith.mulf %i, %k : f32
    %s = arith.addf %a, %p : f32
    linalg.yield %s : f32
  }
  func.return
}
