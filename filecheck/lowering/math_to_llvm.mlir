// RUN: terrace-opt %s -p convert-math-to-llvm --split-input-file | filecheck %s

// CHECK-LABEL: func.func @intrinsics
func.func @intrinsics(%y: f64) -> (f64, f64, f64) {
  // CHECK: llvm.call_intrinsic "llvm.exp.f64"
  %e64 = math.exp %y : f64
  // CHECK: llvm.call_intrinsic "llvm.pow.f64"
  %p = math.powf %y, %y : f64
  // CHECK: llvm.call_intrinsic "llvm.tanh.f64"
  %t = math.tanh %y : f64
  func.return %e64, %p, %t : f64, f64, f64
}

// -----

// f32 exp expands in f32 (no libm call, so loops vectorize): 2^n from the exponent bits.
// CHECK-LABEL: func.func @exp_expansion
// CHECK-NOT:   llvm.exp
// CHECK:       llvm.call_intrinsic "llvm.floor.f32"
// CHECK:       arith.bitcast %{{.*}} : f32 to i32
// CHECK:       arith.shli %{{.*}}, %{{.*}} : i32
// CHECK:       arith.bitcast %{{.*}} : i32 to f32
// CHECK:       arith.cmpf uno
// CHECK:       arith.select
func.func @exp_expansion(%x: f32) -> f32 {
  %e = math.exp %x : f32
  func.return %e : f32
}

// -----

// f32 erf expands in f64; f64 erf calls libm.
// CHECK: llvm.func @erf(f64) -> f64
// CHECK-LABEL: func.func @erf_expansion
func.func @erf_expansion(%x: f32, %y: f64) -> (f32, f64) {
  // CHECK: %[[WIDE:.*]] = arith.extf %{{.*}} : f32 to f64
  // CHECK-NOT: llvm.exp
  // CHECK: arith.bitcast %{{.*}} : i64 to f64
  // CHECK: arith.truncf %{{.*}} : f64 to f32
  %a = math.erf %x : f32
  // CHECK: llvm.call @erf(%{{.*}}) : (f64) -> f64
  %b = math.erf %y : f64
  func.return %a, %b : f32, f64
}

// -----

// ipowi: square and multiply, unrolled over the exponent's bits (7 for i8, the sign bit
// selects the 1 / b^-e case); arith ops, for convert-arith-to-llvm.
// CHECK-LABEL: func.func @ipowi
// CHECK-COUNT-7: arith.shrui
// CHECK:         %[[NEGATIVE:.*]] = arith.cmpi slt, %{{.*}}, %{{.*}} : i8
// CHECK-NEXT:    %{{.*}} = arith.select %[[NEGATIVE]], %{{.*}}, %{{.*}} : i8
// CHECK-NOT:     math.ipowi
func.func @ipowi(%b: i8, %e: i8) -> i8 {
  %p = math.ipowi %b, %e : i8
  func.return %p : i8
}

// -----

// exp of a vector of f32 (a fused epilogue's) expands lane by lane: splat integer constants,
// vector bitcasts; a NaN lane propagates through the clamps, so no compare or select.
// CHECK-LABEL: func.func @exp_vector_expansion
// CHECK-NOT:   llvm.exp
// CHECK:       llvm.call_intrinsic "llvm.floor.v16f32"
// CHECK:       arith.bitcast %{{.*}} : vector<16xf32> to vector<16xi32>
// CHECK:       arith.shli %{{.*}}, %{{.*}} : vector<16xi32>
// CHECK:       arith.bitcast %{{.*}} : vector<16xi32> to vector<16xf32>
// CHECK-NOT:   arith.cmpf
// CHECK:       func.return
func.func @exp_vector_expansion(%x: vector<16xf32>) -> vector<16xf32> {
  %e = math.exp %x : vector<16xf32>
  func.return %e : vector<16xf32>
}
