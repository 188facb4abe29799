// RUN: terrace-opt %s -p convert-math-to-llvm --split-input-file | filecheck %s
// RUN: terrace-opt %s -p 'convert-math-to-llvm{fma=false}' --split-input-file | filecheck %s --check-prefix=NOFMA

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

// f32 exp expands in f32 (no libm call, so loops vectorize): n = round(x / ln2) by one fma
// that adds 1.5 * 2^23 (n in the low mantissa bits), x - n ln2 by two more, 2^n from the
// exponent bits; a NaN propagates through the clamps, so no compare or select. Without fma,
// a multiply and an add each.
// CHECK-LABEL: func.func @exp_expansion
// CHECK-NOT:   llvm.exp
// CHECK:       %[[SHIFTED:.*]] = llvm.call_intrinsic "llvm.fma.f32"(%{{.*}}, %{{.*}}, %[[MAGIC:.*]])
// CHECK-NEXT:  arith.constant 0x4B400000 : f32
// CHECK-NEXT:  %[[N:.*]] = arith.subf %[[SHIFTED]], %{{.*}} : f32
// CHECK:       llvm.call_intrinsic "llvm.fma.f32"(%[[N]], %{{.*}}, %{{.*}})
// CHECK:       arith.bitcast %[[SHIFTED]] : f32 to i32
// CHECK:       arith.shli %{{.*}}, %{{.*}} : i32
// CHECK:       arith.bitcast %{{.*}} : i32 to f32
// CHECK-NOT:   arith.select
// CHECK:       func.return
// NOFMA-LABEL: func.func @exp_expansion
// NOFMA:       %[[PRODUCT:.*]] = arith.mulf %{{.*}}, %{{.*}} : f32
// NOFMA-NEXT:  %[[SHIFTED:.*]] = arith.addf %[[PRODUCT]], %{{.*}} : f32
// NOFMA:       arith.subf %[[SHIFTED]], %{{.*}} : f32
// NOFMA-NOT:   llvm.fma
// NOFMA:       func.return
func.func @exp_expansion(%x: f32) -> f32 {
  %e = math.exp %x : f32
  func.return %e : f32
}

// -----

// f32 erf expands in f32: a polynomial by fma below the split, 1 - exp(-Q(|x|)) above, kept by
// a 0/1 step from max and min (no compare or select), the sign copied back; f64 erf calls libm.
// CHECK: llvm.func @erf(f64) -> f64
// CHECK-LABEL: func.func @erf_expansion
func.func @erf_expansion(%x: f32, %y: f64) -> (f32, f64) {
  // CHECK-NOT:  arith.extf
  // CHECK:      %[[ABS:.*]] = llvm.call_intrinsic "llvm.fabs.f32"(%{{.*}})
  // CHECK:      %[[MAGNITUDE:.*]] = arith.minimumf %[[ABS]], %{{.*}} : f32
  // CHECK:      llvm.call_intrinsic "llvm.fma.f32"
  // CHECK:      arith.constant 0x4B400000 : f32
  // the step: (|x| - split) * 2^100 clamped to [0, 1]
  // CHECK:      arith.constant 1.2676506e+30 : f32
  // CHECK:      arith.maximumf
  // CHECK:      arith.minimumf
  // CHECK-NOT:  arith.select
  // CHECK:      llvm.call_intrinsic "llvm.copysign.f32"
  %a = math.erf %x : f32
  // CHECK: llvm.call @erf(%{{.*}}) : (f64) -> f64
  %b = math.erf %y : f64
  func.return %a, %b : f32, f64
}

// -----

// f16 erf and tanh compute in f32 and round back once.
// CHECK-LABEL: func.func @narrow_expansion
// CHECK:       arith.extf %{{.*}} : f16 to f32
// CHECK:       arith.truncf %{{.*}} : f32 to f16
// CHECK:       arith.extf %{{.*}} : f16 to f32
// CHECK:       arith.truncf %{{.*}} : f32 to f16
func.func @narrow_expansion(%x: f16) -> (f16, f16) {
  %a = math.erf %x : f16
  %b = math.tanh %x : f16
  func.return %a, %b : f16, f16
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
// CHECK:       llvm.call_intrinsic "llvm.fma.v16f32"
// CHECK:       arith.bitcast %{{.*}} : vector<16xf32> to vector<16xi32>
// CHECK:       arith.shli %{{.*}}, %{{.*}} : vector<16xi32>
// CHECK:       arith.bitcast %{{.*}} : vector<16xi32> to vector<16xf32>
// CHECK-NOT:   arith.cmpf
// CHECK:       func.return
func.func @exp_vector_expansion(%x: vector<16xf32>) -> vector<16xf32> {
  %e = math.exp %x : vector<16xf32>
  func.return %e : vector<16xf32>
}

// -----

// erf and tanh of a vector of f32 (a fused GELU epilogue's) expand lane by lane in f32, with
// vector fma and no libm call: tanh is 1 - 2 / (exp(2|x|) + 1) above the split.
// CHECK-LABEL: func.func @erf_tanh_vector_expansion
// CHECK-NOT:   llvm.call @
// CHECK:       llvm.call_intrinsic "llvm.fma.v16f32"
// CHECK:       llvm.call_intrinsic "llvm.copysign.v16f32"
// CHECK:       arith.divf %{{.*}}, %{{.*}} : vector<16xf32>
// CHECK:       llvm.call_intrinsic "llvm.copysign.v16f32"
// CHECK-NOT:   llvm.call @
// CHECK:       func.return
// Without a fused multiply-add (wasm32's simd128), multiply then add: no llvm.fma, which LLVM
// would turn into a libm call per lane.
// NOFMA-LABEL: func.func @erf_tanh_vector_expansion
// NOFMA-NOT:   llvm.fma
// NOFMA:       arith.mulf %{{.*}}, %{{.*}} : vector<16xf32>
// NOFMA:       arith.addf %{{.*}}, %{{.*}} : vector<16xf32>
// NOFMA-NOT:   llvm.fma
// NOFMA:       func.return
func.func @erf_tanh_vector_expansion(%x: vector<16xf32>) -> (vector<16xf32>, vector<16xf32>) {
  %e = math.erf %x : vector<16xf32>
  %t = math.tanh %x : vector<16xf32>
  func.return %e, %t : vector<16xf32>, vector<16xf32>
}
