// RUN: terrace-opt %s -p convert-nn-to-linalg --split-input-file | filecheck %s

// Float to int truncates toward zero (fptosi); bool extends as unsigned.
// CHECK-LABEL: func.func @casts
// CHECK:         arith.fptosi %{{.*}} : f32 to i32
// CHECK:         arith.uitofp %{{.*}} : i1 to f32
func.func @casts(%x: tensor<3xf32>, %b: tensor<3xi1>) -> (tensor<3xi32>, tensor<3xf32>) {
  %i = nn.cast %x {to = 6 : i64} : (tensor<3xf32>) -> tensor<3xi32>
  %f = nn.cast %b {to = 1 : i64} : (tensor<3xi1>) -> tensor<3xf32>
  func.return %i, %f : tensor<3xi32>, tensor<3xf32>
}

// -----

// CHECK-LABEL: func.func @bit_cast
// CHECK:         linalg.generic
// CHECK:           arith.bitcast %{{.*}} : f32 to i32
func.func @bit_cast(%x: tensor<4xf32>) -> tensor<4xi32> {
  %r = nn.bit_cast %x {to = 6 : i64} : (tensor<4xf32>) -> tensor<4xi32>
  func.return %r : tensor<4xi32>
}

// -----

// f64 to f16 goes through f32 rounded to odd (the JIT has no __truncdfhf2): the two roundings
// make one correctly rounded f64 -> f16.
// CHECK-LABEL: func.func @cast_f64_to_f16
// CHECK:         linalg.generic
// CHECK:           %[[NEAREST:.*]] = arith.truncf %{{.*}} : f64 to f32
// CHECK:           %[[BITS:.*]] = arith.bitcast %[[NEAREST]] : f32 to i32
// CHECK:           %[[ODD:.*]] = arith.ori %{{.*}}, %{{.*}} : i32
// CHECK:           %[[ROUNDED:.*]] = arith.bitcast %{{.*}} : i32 to f32
// CHECK:           arith.truncf %[[ROUNDED]] : f32 to f16
// CHECK:         } -> tensor<3xf16>
func.func @cast_f64_to_f16(%x: tensor<3xf64>) -> tensor<3xf16> {
  %r = nn.cast %x {to = 10 : i64} : (tensor<3xf64>) -> tensor<3xf16>
  func.return %r : tensor<3xf16>
}

// -----

// A bool is a byte: bit_cast extends it to i8 first; a byte as a bool is "nonzero".
// CHECK-LABEL: func.func @bit_cast_bool
// CHECK:         linalg.generic
// CHECK:           arith.extui %{{.*}} : i1 to i8
// CHECK:           arith.bitcast %{{.*}} : i8 to ui8
// CHECK:         } -> tensor<2xui8>
// CHECK:         linalg.generic
// CHECK:           arith.cmpi ne, %{{.*}}, %{{.*}} : ui8
// CHECK:         } -> tensor<2xi1>
func.func @bit_cast_bool(%b: tensor<2xi1>) -> tensor<2xi1> {
  %u = nn.bit_cast %b {to = 2 : i64} : (tensor<2xi1>) -> tensor<2xui8>
  %r = nn.bit_cast %u {to = 9 : i64} : (tensor<2xui8>) -> tensor<2xi1>
  func.return %r : tensor<2xi1>
}
