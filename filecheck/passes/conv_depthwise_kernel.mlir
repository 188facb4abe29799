// RUN: terrace-opt %s -p conv-depthwise-kernel --split-input-file | filecheck %s
// RUN: terrace-opt %s -p 'conv-depthwise-kernel{lanes=4 fma=false min-parallel-work=0}' --split-input-file | filecheck %s --check-prefix=SMALL

// A padded 3x3 depthwise convolution with its bias and relu, rows of 20: the padded copy
// (alloc, fill, subview, copy) is gone and the kernel reads %x in place. The first row is a
// border row (its window's top row is padding: three taps per vector); each row is a full
// vector and a partial one of 4 lanes. The left column of the window shifts the input right
// by one lane with a zero from the padding (a shuffle); loads that would cross the row's end
// are masked, as is the store of the partial vector. The bias, read once per channel, starts
// the accumulators and the relu runs on them before the only stores. Interior rows run in an
// scf.for over blocks.

// CHECK-LABEL: func.func @padded_bias_relu
// CHECK-SAME:  (%[[X:[^:]*]]: memref<1x2x6x20xf32>, %[[OUT:[^:]*]]: memref<1x2x6x20xf32>, %[[W:[^:]*]]: memref<2x1x3x3xf32>, %[[B:[^:]*]]: memref<2xf32>)
// CHECK-NOT:   memref.alloc
// CHECK-NOT:   memref.copy
// CHECK:       %[[BIAS:.*]] = memref.load %[[B]]
// CHECK-NEXT:  %[[SPLAT:.*]] = vector.broadcast %[[BIAS]] : f32 to vector<16xf32>
// CHECK-COUNT-9: memref.load %[[W]]
// CHECK-NOT:   memref.load %[[B]]
// CHECK:       %[[ROW:.*]] = vector.load %[[X]][%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}] : memref<1x2x6x20xf32>, vector<16xf32>
// CHECK:       %[[SHIFTED:.*]] = vector.shuffle %[[ROW]], %{{.*}} [16, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]
// CHECK-NEXT:  vector.fma %[[SHIFTED]], %{{.*}}, %[[SPLAT]] : vector<16xf32>
// CHECK:       vector.maskedload %[[X]]
// CHECK:       %[[RELU:.*]] = arith.maximumf %{{.*}}, %{{.*}} : vector<16xf32>
// CHECK:       vector.store %[[RELU]], %[[OUT]]
// CHECK:       vector.maskedstore %[[OUT]]
// CHECK:       scf.for
// CHECK:       vector.fma
// CHECK-NOT:   linalg.generic
// CHECK-NOT:   memref.dealloc

// SMALL-LABEL: func.func @padded_bias_relu
// SMALL:       "scf.parallel"
// SMALL-NOT:   vector.fma
// SMALL:       %[[PRODUCT:.*]] = arith.mulf %{{.*}}, %{{.*}} : vector<4xf32>
// SMALL-NEXT:  arith.addf %{{.*}}, %[[PRODUCT]] : vector<4xf32>
// SMALL-NOT:   vector<16xf32>
// Rows of five whole vectors of 4: the relu runs on two of them joined (a shuffle), then
// on the fifth alone.
// SMALL:       %[[JOINED:.*]] = vector.shuffle %{{.*}}, %{{.*}} [0, 1, 2, 3, 4, 5, 6, 7] : vector<4xf32>, vector<4xf32>
// SMALL:       %[[RELU8:.*]] = arith.maximumf %[[JOINED]], %{{.*}} : vector<8xf32>
// SMALL-NEXT:  vector.store %[[RELU8]], %{{.*}} : memref<1x2x6x20xf32>, vector<8xf32>
// SMALL:       vector.shuffle %{{.*}}, %{{.*}} [0, 1, 2, 3, 4, 5, 6, 7] : vector<4xf32>, vector<4xf32>
// SMALL:       %[[RELU4:.*]] = arith.maximumf %{{.*}}, %{{.*}} : vector<4xf32>
// SMALL-NEXT:  vector.store %[[RELU4]], %{{.*}} : memref<1x2x6x20xf32>, vector<4xf32>
#in = affine_map<(n, c, oy, ox, ky, kx) -> (n, c, oy + ky, ox + kx)>
#w = affine_map<(n, c, oy, ox, ky, kx) -> (c, 0, ky, kx)>
#out = affine_map<(n, c, oy, ox, ky, kx) -> (n, c, oy, ox)>
#id = affine_map<(n, c, y, x) -> (n, c, y, x)>
#bias = affine_map<(n, c, y, x) -> (c)>
#scalar = affine_map<(n, c, y, x) -> ()>
func.func @padded_bias_relu(%x: memref<1x2x6x20xf32>, %out: memref<1x2x6x20xf32>, %w: memref<2x1x3x3xf32>, %b: memref<2xf32>) {
  %padded = memref.alloc() : memref<1x2x8x22xf32>
  %zero = arith.constant 0.000000e+00 : f32
  linalg.generic {indexing_maps = [#scalar, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%zero : f32) outs(%padded : memref<1x2x8x22xf32>) {
  ^bb0(%z: f32, %o: f32):
    linalg.yield %z : f32
  }
  %window = memref.subview %padded[0, 0, 1, 1] [1, 2, 6, 20] [1, 1, 1, 1] : memref<1x2x8x22xf32> to memref<1x2x6x20xf32, strided<[352, 176, 22, 1], offset: 23>>
  "memref.copy"(%x, %window) : (memref<1x2x6x20xf32>, memref<1x2x6x20xf32, strided<[352, 176, 22, 1], offset: 23>>) -> ()
  %acc = memref.alloc() : memref<1x2x6x20xf32>
  linalg.generic {indexing_maps = [#bias, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%b : memref<2xf32>) outs(%acc : memref<1x2x6x20xf32>) {
  ^bb0(%v: f32, %o: f32):
    linalg.yield %v : f32
  }
  linalg.generic {indexing_maps = [#in, #w, #out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%padded, %w : memref<1x2x8x22xf32>, memref<2x1x3x3xf32>) outs(%acc : memref<1x2x6x20xf32>) {
  ^bb0(%i: f32, %k: f32, %a: f32):
    %p = arith.mulf %i, %k : f32
    %s = arith.addf %a, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%acc : memref<1x2x6x20xf32>) outs(%out : memref<1x2x6x20xf32>) {
  ^bb0(%v: f32, %o: f32):
    %c0 = arith.constant 0.000000e+00 : f32
    %r = arith.maximumf %v, %c0 : f32
    linalg.yield %r : f32
  }
  func.return
}

// -----

// Stride 2 over an input that is not a padded copy (a function argument, read as it is):
// each output vector gathers the even (or odd) columns of two input vectors.

// CHECK-LABEL: func.func @stride_two
// CHECK:       %[[LOW:.*]] = vector.load %{{.*}} : memref<1x1x9x33xf32>, vector<16xf32>
// CHECK:       %[[HIGH:.*]] = vector.load %{{.*}} : memref<1x1x9x33xf32>, vector<16xf32>
// CHECK:       vector.shuffle %[[LOW]], %[[HIGH]] [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30]
// CHECK-NOT:   linalg.generic
#in2 = affine_map<(n, c, oy, ox, ky, kx) -> (n, c, oy * 2 + ky, ox * 2 + kx)>
#w2 = affine_map<(n, c, oy, ox, ky, kx) -> (c, 0, ky, kx)>
#out2 = affine_map<(n, c, oy, ox, ky, kx) -> (n, c, oy, ox)>
func.func @stride_two(%x: memref<1x1x9x33xf32>, %w: memref<1x1x3x3xf32>, %out: memref<1x1x4x16xf32>) {
  linalg.generic {indexing_maps = [#in2, #w2, #out2], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%x, %w : memref<1x1x9x33xf32>, memref<1x1x3x3xf32>) outs(%out : memref<1x1x4x16xf32>) {
  ^bb0(%i: f32, %k: f32, %a: f32):
    %p = arith.mulf %i, %k : f32
    %s = arith.addf %a, %p : f32
    linalg.yield %s : f32
  }
  func.return
}

// -----

// Column stride 3 is not rewritten (one output vector would gather from three loads).

// CHECK-LABEL: func.func @stride_three
// CHECK:       linalg.generic
// CHECK-NOT:   vector.fma
#in3 = affine_map<(n, c, oy, ox, ky, kx) -> (n, c, oy + ky, ox * 3 + kx)>
#w3 = affine_map<(n, c, oy, ox, ky, kx) -> (c, 0, ky, kx)>
#out3 = affine_map<(n, c, oy, ox, ky, kx) -> (n, c, oy, ox)>
func.func @stride_three(%x: memref<1x1x3x48xf32>, %w: memref<1x1x3x3xf32>, %out: memref<1x1x1x16xf32>) {
  linalg.generic {indexing_maps = [#in3, #w3, #out3], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%x, %w : memref<1x1x3x48xf32>, memref<1x1x3x3xf32>) outs(%out : memref<1x1x1x16xf32>) {
  ^bb0(%i: f32, %k: f32, %a: f32):
    %p = arith.mulf %i, %k : f32
    %s = arith.addf %a, %p : f32
    linalg.yield %s : f32
  }
  func.return
}

// -----

// A SiLU after the convolution (x * sigmoid(x), sigmoid as 1 / (1 + exp(-x))) is the fused
// epilogue: exp runs on the accumulator vectors (convert-math-to-llvm expands it lane by lane)
// before the only stores; no loop nest is left for it.

// CHECK-LABEL: func.func @silu_epilogue
// CHECK:       vector.fma
// CHECK:       %[[NEG:.*]] = arith.negf %[[ACC:.*]] : vector<16xf32>
// CHECK-NEXT:  %[[E:.*]] = math.exp %[[NEG]] : vector<16xf32>
// CHECK:       %[[DENOMINATOR:.*]] = arith.addf %{{.*}}, %[[E]] : vector<16xf32>
// CHECK-NEXT:  %[[SIGMOID:.*]] = arith.divf %{{.*}}, %[[DENOMINATOR]] : vector<16xf32>
// CHECK-NEXT:  %[[SILU:.*]] = arith.mulf %[[ACC]], %[[SIGMOID]] : vector<16xf32>
// CHECK:       vector.store %[[SILU]]
// CHECK-NOT:   linalg.generic
#in = affine_map<(n, c, oy, ox, ky, kx) -> (n, c, oy + ky, ox + kx)>
#w = affine_map<(n, c, oy, ox, ky, kx) -> (c, 0, ky, kx)>
#out = affine_map<(n, c, oy, ox, ky, kx) -> (n, c, oy, ox)>
#id = affine_map<(n, c, y, x) -> (n, c, y, x)>
#scalar = affine_map<(n, c, y, x) -> ()>
func.func @silu_epilogue(%x: memref<1x2x6x18xf32>, %out: memref<1x2x4x16xf32>, %w: memref<2x1x3x3xf32>) {
  %acc = memref.alloc() : memref<1x2x4x16xf32>
  %zero = arith.constant 0.000000e+00 : f32
  linalg.generic {indexing_maps = [#scalar, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%zero : f32) outs(%acc : memref<1x2x4x16xf32>) {
  ^bb0(%z: f32, %o: f32):
    linalg.yield %z : f32
  }
  linalg.generic {indexing_maps = [#in, #w, #out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%x, %w : memref<1x2x6x18xf32>, memref<2x1x3x3xf32>) outs(%acc : memref<1x2x4x16xf32>) {
  ^bb0(%i: f32, %k: f32, %a: f32):
    %p = arith.mulf %i, %k : f32
    %s = arith.addf %a, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%acc : memref<1x2x4x16xf32>) outs(%out : memref<1x2x4x16xf32>) {
  ^bb0(%v: f32, %o: f32):
    %n = arith.negf %v : f32
    %e = math.exp %n : f32
    %one = arith.constant 1.000000e+00 : f32
    %d = arith.addf %one, %e : f32
    %sigmoid = arith.divf %one, %d : f32
    %silu = arith.mulf %v, %sigmoid : f32
    linalg.yield %silu : f32
  }
  func.return
}
// -----

// A 3x3 stride-2 max pool with padding 1 (as convert-nn-to-linalg lowers nn.max_pool), its
// output relu'd: the -inf padded copy and the window-bounds buffer are gone, the kernel reads
// %x in place and takes one vector max per tap, row and vector, with no weights. The lanes the
// left column of the first window puts in the padding come from a -inf vector (padding never
// wins); the -inf fill of the output starts the accumulators; the relu runs on them before the
// only stores.

// CHECK-LABEL: func.func @max_pool
// CHECK-SAME:  (%[[X:[^:]*]]: memref<1x2x9x9xf32>, %[[OUT:[^:]*]]: memref<1x2x5x5xf32>)
// CHECK-NOT:   memref.alloc
// CHECK-NOT:   memref.copy
// CHECK:       %[[LOWEST:.*]] = arith.constant dense<0xff800000> : vector<8xf32>
// CHECK-NOT:   memref.load
// CHECK:       %[[ROW:.*]] = vector.load %[[X]]
// CHECK-NEXT:  %[[SHIFTED:.*]] = vector.shuffle %[[ROW]], %[[LOWEST]] [8, 0, 2, 4, 6, 0, 0, 0]
// CHECK-NEXT:  %[[FIRST:.*]] = arith.maximumf %[[LOWEST]], %[[SHIFTED]] : vector<8xf32>
// CHECK:       vector.maskedload %[[X]][{{.*}}], %{{.*}}, %[[LOWEST]]
// CHECK:       arith.maximumf %[[FIRST]], %{{.*}} : vector<8xf32>
// CHECK-NOT:   vector.fma
// CHECK:       %[[ZERO:.*]] = vector.broadcast %{{.*}} : f32 to vector<8xf32>
// CHECK-NEXT:  %[[RELU:.*]] = arith.maximumf %{{.*}}, %[[ZERO]] : vector<8xf32>
// CHECK-NEXT:  vector.maskedstore %[[OUT]][{{.*}}], %{{.*}}, %[[RELU]]
// CHECK-NOT:   linalg.generic
// CHECK-NOT:   memref.dealloc

// SMALL-LABEL: func.func @max_pool
// SMALL-NOT:   vector.fma
// SMALL-NOT:   arith.mulf
// SMALL:       arith.maximumf %{{.*}}, %{{.*}} : vector<4xf32>
#in = affine_map<(n, c, oy, ox, ky, kx) -> (n, c, oy * 2 + ky, ox * 2 + kx)>
#window = affine_map<(n, c, oy, ox, ky, kx) -> (ky, kx)>
#out = affine_map<(n, c, oy, ox, ky, kx) -> (n, c, oy, ox)>
#id = affine_map<(n, c, y, x) -> (n, c, y, x)>
#scalar = affine_map<(n, c, y, x) -> ()>
func.func @max_pool(%x: memref<1x2x9x9xf32>, %out: memref<1x2x5x5xf32>) {
  %padded = memref.alloc() : memref<1x2x11x11xf32>
  %lowest = arith.constant 0xFF800000 : f32
  linalg.generic {indexing_maps = [#scalar, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%lowest : f32) outs(%padded : memref<1x2x11x11xf32>) {
  ^bb0(%l: f32, %o: f32):
    linalg.yield %l : f32
  }
  %inner = memref.subview %padded[0, 0, 1, 1] [1, 2, 9, 9] [1, 1, 1, 1] : memref<1x2x11x11xf32> to memref<1x2x9x9xf32, strided<[242, 121, 11, 1], offset: 12>>
  "memref.copy"(%x, %inner) : (memref<1x2x9x9xf32>, memref<1x2x9x9xf32, strided<[242, 121, 11, 1], offset: 12>>) -> ()
  %acc = memref.alloc() : memref<1x2x5x5xf32>
  linalg.generic {indexing_maps = [#scalar, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%lowest : f32) outs(%acc : memref<1x2x5x5xf32>) {
  ^bb0(%l: f32, %o: f32):
    linalg.yield %l : f32
  }
  %bounds = memref.alloc() : memref<3x3xf32>
  linalg.generic {indexing_maps = [#in, #window, #out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%padded, %bounds : memref<1x2x11x11xf32>, memref<3x3xf32>) outs(%acc : memref<1x2x5x5xf32>) {
  ^bb0(%i: f32, %k: f32, %a: f32):
    %m = arith.maximumf %a, %i : f32
    linalg.yield %m : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%acc : memref<1x2x5x5xf32>) outs(%out : memref<1x2x5x5xf32>) {
  ^bb0(%v: f32, %o: f32):
    %c0 = arith.constant 0.000000e+00 : f32
    %r = arith.maximumf %v, %c0 : f32
    linalg.yield %r : f32
  }
  memref.dealloc %bounds : memref<3x3xf32>
  memref.dealloc %acc : memref<1x2x5x5xf32>
  memref.dealloc %padded : memref<1x2x11x11xf32>
  func.return
}
