// RUN: terrace-opt %s -p convert-nn-to-linalg --split-input-file | filecheck %s

// Nearest resize: the source coordinate in f64, floor, round by the nearest mode, clamp.
// CHECK-LABEL: func.func @resize_nearest
// CHECK:         linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>]
// CHECK:           %[[Y:.*]] = arith.sitofp %{{.*}} : i64 to f64
// CHECK:           %[[HALF:.*]] = arith.constant 5.000000e-01 : f64
// CHECK:           arith.addf %[[Y]], %[[HALF]] : f64
// CHECK:           math.floor
// CHECK:           arith.cmpf ogt
// CHECK:           arith.select
// CHECK:           arith.minsi
// CHECK:           tensor.extract %{{.*}}[%{{.*}}, %{{.*}}] : tensor<2x2xf32>
func.func @resize_nearest(%x: tensor<2x2xf32>) -> tensor<2x4xf32> {
  %r = nn.resize %x {scales = [1.0 : f64, 2.0 : f64]} : (tensor<2x2xf32>) -> tensor<2x4xf32>
  func.return %r : tensor<2x4xf32>
}

// -----

// Linear resize: two corners along the one resized axis, weighted in f64.
// CHECK-LABEL: func.func @resize_linear
// CHECK:         linalg.generic
// CHECK-COUNT-2:   tensor.extract
// CHECK:           arith.addf %{{.*}}, %{{.*}} : f64
// CHECK:           %[[R:.*]] = arith.truncf %{{.*}} : f64 to f32
// CHECK-NEXT:      linalg.yield %[[R]] : f32
func.func @resize_linear(%x: tensor<2x2xf32>) -> tensor<2x4xf32> {
  %r = nn.resize %x {mode = "linear", scales = [1.0 : f64, 2.0 : f64]} : (tensor<2x2xf32>) -> tensor<2x4xf32>
  func.return %r : tensor<2x4xf32>
}

// -----

// Cubic resize to given sizes: one parallel generic over the 4-d result, 4 taps on each of the
// two resized axes (16 reads), summed in f64 and rounded once.
// CHECK-LABEL: func.func @resize_cubic_sizes
// CHECK:         %[[INIT:.*]] = tensor.empty() : tensor<1x1x3x5xf32>
// CHECK:         linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} outs(%[[INIT]] : tensor<1x1x3x5xf32>)
// CHECK-COUNT-16:  tensor.extract %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}] : tensor<1x1x4x4xf32>
// CHECK-NOT:       tensor.extract
// CHECK:           %[[R:.*]] = arith.truncf %{{.*}} : f64 to f32
// CHECK-NEXT:      linalg.yield %[[R]] : f32
// CHECK:         } -> tensor<1x1x3x5xf32>
func.func @resize_cubic_sizes(%x: tensor<1x1x4x4xf32>) -> tensor<1x1x3x5xf32> {
  %r = nn.resize %x {mode = "cubic", sizes = array<i64: 1, 1, 3, 5>} : (tensor<1x1x4x4xf32>) -> tensor<1x1x3x5xf32>
  func.return %r : tensor<1x1x3x5xf32>
}
