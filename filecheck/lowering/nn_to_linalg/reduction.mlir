// RUN: terrace-opt %s -p convert-nn-to-linalg --split-input-file | filecheck %s

// CHECK-LABEL: func.func @reduce_sum
// CHECK-SAME:    (%[[X:.*]]: tensor<2x3x4xf32>)
// CHECK:         %[[EMPTY:.*]] = tensor.empty() : tensor<2x4xf32>
// CHECK-NEXT:    %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:    %[[INIT:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[EMPTY]] : tensor<2x4xf32>)
// CHECK-NEXT:    %[[R:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d2)>], iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[X]] : tensor<2x3x4xf32>) outs(%[[INIT]] : tensor<2x4xf32>)
// CHECK:           arith.addf
// CHECK:         func.return %[[R]]
func.func @reduce_sum(%x: tensor<2x3x4xf32>) -> tensor<2x4xf32> {
  %r = nn.reduce_sum %x {axes = array<i64: 1>, keepdims = 0 : i64} : (tensor<2x3x4xf32>) -> tensor<2x4xf32>
  func.return %r : tensor<2x4xf32>
}

// -----

// A product starts from 1; f16 accumulates in f32 and rounds once.
// CHECK-LABEL: func.func @reduce_prod_f16
// CHECK:         arith.extf %{{.*}} : f16 to f32
// CHECK:         %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK:         linalg.fill ins(%[[ONE]] : f32)
// CHECK:         arith.mulf %{{.*}}, %{{.*}} : f32
// CHECK:         arith.truncf %{{.*}} : f32 to f16
func.func @reduce_prod_f16(%x: tensor<2x3xf16>) -> tensor<2xf16> {
  %r = nn.reduce_prod %x {axes = array<i64: 1>, keepdims = 0 : i64} : (tensor<2x3xf16>) -> tensor<2xf16>
  func.return %r : tensor<2xf16>
}

// -----

// Kept dims: the init's map reads the reduced dim at 0.
// CHECK-LABEL: func.func @reduce_max_keepdims
// CHECK:         %[[LOW:.*]] = arith.constant 0xff800000 : f32
// CHECK-NEXT:    linalg.fill ins(%[[LOW]] : f32)
// CHECK:         linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (0, d1)>], iterator_types = ["reduction", "parallel"]}
// CHECK:           arith.maximumf
// CHECK:         } -> tensor<1x3xf32>
func.func @reduce_max_keepdims(%x: tensor<2x3xf32>) -> tensor<1x3xf32> {
  %r = nn.reduce_max %x {axes = array<i64: 0>} : (tensor<2x3xf32>) -> tensor<1x3xf32>
  func.return %r : tensor<1x3xf32>
}

// -----

// The mean divides the sum afterwards.
// CHECK-LABEL: func.func @reduce_mean_all
// CHECK:         %[[SUM:.*]] = linalg.generic {{.*}}iterator_types = ["reduction", "reduction"]
// CHECK:         linalg.generic {{.*}} ins(%[[SUM]] : tensor<1x1xf32>)
// CHECK:           %[[N:.*]] = arith.constant 6.000000e+00 : f32
// CHECK-NEXT:      arith.divf %{{.*}}, %[[N]] : f32
func.func @reduce_mean_all(%x: tensor<2x3xf32>) -> tensor<1x1xf32> {
  %r = nn.reduce_mean %x : (tensor<2x3xf32>) -> tensor<1x1xf32>
  func.return %r : tensor<1x1xf32>
}

// -----

// CHECK-LABEL: func.func @reduce_noop
// CHECK-SAME:    (%[[X:.*]]: tensor<2x3xf32>)
// CHECK-NEXT:    func.return %[[X]]
func.func @reduce_noop(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %r = nn.reduce_sum %x {noop_with_empty_axes = 1 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %r : tensor<2x3xf32>
}

// -----

// arg_max: the maximum (kept dims), then the smallest index that holds it.
// CHECK-LABEL: func.func @arg_max
// CHECK-SAME:    (%[[X:.*]]: tensor<2x5xf32>)
// CHECK:         %[[MAX:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK:         %[[NONE:.*]] = arith.constant 5 : i64
// CHECK-NEXT:    %[[INIT:.*]] = linalg.fill ins(%[[NONE]] : i64)
// CHECK-NEXT:    linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]} ins(%[[X]], %[[MAX]] : tensor<2x5xf32>, tensor<2x1xf32>) outs(%[[INIT]] : tensor<2xi64>)
// CHECK:           %[[I:.*]] = linalg.index 1 : index
// CHECK-NEXT:      %[[I64:.*]] = arith.index_cast %[[I]] : index to i64
// CHECK-NEXT:      arith.minsi %{{.*}}, %[[I64]] : i64
// CHECK:           arith.cmpf oeq
func.func @arg_max(%x: tensor<2x5xf32>) -> tensor<2xi64> {
  %r = nn.arg_max %x {axis = 1 : i64, keepdims = 0 : i64} : (tensor<2x5xf32>) -> tensor<2xi64>
  func.return %r : tensor<2xi64>
}

// -----

// CHECK-LABEL: func.func @arg_min_last
// CHECK:         %[[NONE:.*]] = arith.constant -1 : i64
// CHECK:           arith.maxsi %{{.*}}, %{{.*}} : i64
func.func @arg_min_last(%x: tensor<5xi32>) -> tensor<1xi64> {
  %r = nn.arg_min %x {select_last_index = 1 : i64} : (tensor<5xi32>) -> tensor<1xi64>
  func.return %r : tensor<1xi64>
}

// -----

// softmax: max, exp(x - max), sum, multiply by the sum's reciprocal (one per row).
// CHECK-LABEL: func.func @softmax
// CHECK-SAME:    (%[[X:.*]]: tensor<2x3xf32>)
// CHECK:         %[[MAX:.*]] = linalg.generic {{.*}} ins(%[[X]] : tensor<2x3xf32>)
// CHECK:           arith.maxnumf
// CHECK:         %[[EXP:.*]] = linalg.generic {{.*}} ins(%[[X]], %[[MAX]] : tensor<2x3xf32>, tensor<2x1xf32>)
// CHECK:           arith.subf
// CHECK-NEXT:      math.exp
// CHECK:         %[[SUM:.*]] = linalg.generic {{.*}} ins(%[[EXP]] : tensor<2x3xf32>)
// CHECK:           arith.addf
// CHECK:         linalg.generic {{.*}} ins(%[[EXP]], %[[SUM]] : tensor<2x3xf32>, tensor<2x1xf32>)
// CHECK:           %[[RECIPROCAL:.*]] = arith.divf %{{.*}}, %{{.*}} : f32
// CHECK-NEXT:      arith.mulf %{{.*}}, %[[RECIPROCAL]] : f32
func.func @softmax(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %r = nn.softmax %x : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %r : tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func.func @log_softmax
// CHECK:         math.log
// CHECK-NEXT:    arith.subf
func.func @log_softmax(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %r = nn.log_softmax %x {axis = 0 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %r : tensor<2x3xf32>
}

// -----

// Three passes over x and no centred tensor: the sum, the sum of squared deviations (reading
// x and the sum; both sums reassoc), then (x - mean) * (1 / sqrt(variance + epsilon)) * scale
// + B, the reciprocal per row.
// CHECK-LABEL: func.func @layer_normalization
// CHECK-SAME:    (%[[X:[^:]*]]: tensor<2x4xf32>
// CHECK:         %[[SUM:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[X]] : tensor<2x4xf32>)
// CHECK:           arith.addf %{{.*}}, %{{.*}} fastmath<reassoc>
// CHECK:         %[[SQUARES:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[X]], %[[SUM]] : tensor<2x4xf32>, tensor<2x1xf32>)
// CHECK:           arith.subf
// CHECK-NEXT:      %[[SQUARE:.*]] = arith.mulf
// CHECK-NEXT:      arith.addf %[[SQUARE]], %{{.*}} fastmath<reassoc>
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%[[X]], %[[SUM]], %[[SQUARES]], %{{.*}}, %{{.*}} : tensor<2x4xf32>, tensor<2x1xf32>, tensor<2x1xf32>, tensor<4xf32>, tensor<4xf32>)
// CHECK:           %[[DEVIATION:.*]] = math.sqrt
// CHECK:           %[[RECIPROCAL:.*]] = arith.divf %{{.*}}, %[[DEVIATION]]
// CHECK-NEXT:      arith.mulf %{{.*}}, %[[RECIPROCAL]]
// CHECK-NOT:       arith.divf
// CHECK:           linalg.yield
func.func @layer_normalization(%x: tensor<2x4xf32>, %s: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<2x4xf32> {
  %r = nn.layer_normalization %x, %s, %b : (tensor<2x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  func.return %r : tensor<2x4xf32>
}

// -----

// Per-channel operands are read at loop dim 1.
// CHECK-LABEL: func.func @batch_normalization
// CHECK:         linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d1)>, affine_map<(d0, d1, d2, d3) -> (d1)>, affine_map<(d0, d1, d2, d3) -> (d1)>, affine_map<(d0, d1, d2, d3) -> (d1)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
// CHECK:           math.sqrt
func.func @batch_normalization(%x: tensor<1x3x2x2xf32>, %s: tensor<3xf32>, %b: tensor<3xf32>, %m: tensor<3xf32>, %v: tensor<3xf32>) -> tensor<1x3x2x2xf32> {
  %r = nn.batch_normalization %x, %s, %b, %m, %v : (tensor<1x3x2x2xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<1x3x2x2xf32>
  func.return %r : tensor<1x3x2x2xf32>
}

// -----

// CHECK-LABEL: func.func @global_max_pool
// CHECK:         linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, 0, 0)>], iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
// CHECK:           arith.maximumf
func.func @global_max_pool(%x: tensor<1x3x2x2xf32>) -> tensor<1x3x1x1xf32> {
  %r = nn.global_max_pool %x : (tensor<1x3x2x2xf32>) -> tensor<1x3x1x1xf32>
  func.return %r : tensor<1x3x1x1xf32>
}

// -----

// LRN: squares padded on the channel axis, then a window sum over (n, c, h, w, k) reading
// channel c + k.
// CHECK-LABEL: func.func @lrn
// CHECK:         %[[PADDED:.*]] = tensor.insert_slice %{{.*}} into %{{.*}}[0, 1, 0, 0] [1, 4, 2, 2] [1, 1, 1, 1] : tensor<1x4x2x2xf32> into tensor<1x7x2x2xf32>
// CHECK:         linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, (d1 + d4), d2, d3)>, affine_map<(d0, d1, d2, d3, d4) -> (d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[PADDED]], %{{.*}} : tensor<1x7x2x2xf32>, tensor<4xf32>)
// CHECK:         math.powf
func.func @lrn(%x: tensor<1x4x2x2xf32>) -> tensor<1x4x2x2xf32> {
  %r = nn.lrn %x {size = 4 : i64} : (tensor<1x4x2x2xf32>) -> tensor<1x4x2x2xf32>
  func.return %r : tensor<1x4x2x2xf32>
}

// -----

// global_average_pool sums the spatial dims into a 1x1 window, then divides by their size;
// the sum may be reassociated (LLVM keeps partial sums in vector lanes).
// CHECK-LABEL: func.func @global_average_pool
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK:         %[[INIT:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.*}} : tensor<1x3x1x1xf32>)
// CHECK:         %[[SUM:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, 0, 0)>], iterator_types = ["parallel", "parallel", "reduction", "reduction"]} ins(%{{.*}} : tensor<1x3x2x2xf32>) outs(%[[INIT]] : tensor<1x3x1x1xf32>)
// CHECK:           arith.addf %{{.*}}, %{{.*}} fastmath<reassoc> : f32
// CHECK:         linalg.generic {{.*}} ins(%[[SUM]] : tensor<1x3x1x1xf32>)
// CHECK:           %[[COUNT:.*]] = arith.constant 4.000000e+00 : f32
// CHECK:           arith.divf %{{.*}}, %[[COUNT]] : f32
// CHECK:         } -> tensor<1x3x1x1xf32>
func.func @global_average_pool(%x: tensor<1x3x2x2xf32>) -> tensor<1x3x1x1xf32> {
  %r = nn.global_average_pool %x : (tensor<1x3x2x2xf32>) -> tensor<1x3x1x1xf32>
  func.return %r : tensor<1x3x1x1xf32>
}

// -----

// An integer reduce_min starts from the type's largest value and takes minsi.
// CHECK-LABEL: func.func @reduce_min_int
// CHECK:         %[[LARGEST:.*]] = arith.constant 2147483647 : i32
// CHECK:         %[[INIT:.*]] = linalg.fill ins(%[[LARGEST]] : i32) outs(%{{.*}} : tensor<2xi32>)
// CHECK:         linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]} ins(%{{.*}} : tensor<2x3xi32>) outs(%[[INIT]] : tensor<2xi32>)
// CHECK:           arith.minsi %{{.*}}, %{{.*}} : i32
// CHECK:         } -> tensor<2xi32>
func.func @reduce_min_int(%x: tensor<2x3xi32>) -> tensor<2xi32> {
  %r = nn.reduce_min %x {axes = array<i64: 1>, keepdims = 0 : i64} : (tensor<2x3xi32>) -> tensor<2xi32>
  func.return %r : tensor<2xi32>
}
