// RUN: terrace-opt %s -p convert-math-to-llvm --split-input-file | filecheck %s

// CHECK-LABEL: func.func @intrinsics
func.func @intrinsics(%x: f32, %y: f64) -> (f32, f64, f64) {
  // CHECK: llvm.call_intrinsic "llvm.exp.f32"
  %e = math.exp %x : f32
  // CHECK: llvm.call_intrinsic "llvm.pow.f64"
  %p = math.powf %y, %y : f64
  // CHECK: llvm.call_intrinsic "llvm.tanh.f64"
  %t = math.tanh %y : f64
  func.return %e, %p, %t : f32, f64, f64
}

// -----

// f32 erf expands in f64; f64 erf calls libm.
// CHECK: llvm.func @erf(f64) -> f64
// CHECK-LABEL: func.func @erf_expansion
func.func @erf_expansion(%x: f32, %y: f64) -> (f32, f64) {
  // CHECK: %[[WIDE:.*]] = arith.extf %{{.*}} : f32 to f64
  // CHECK: llvm.call_intrinsic "llvm.exp.f64"
  // CHECK: arith.truncf %{{.*}} : f64 to f32
  %a = math.erf %x : f32
  // CHECK: llvm.call @erf(%{{.*}}) : (f64) -> f64
  %b = math.erf %y : f64
  func.return %a, %b : f32, f64
}
