// RUN: terrace-opt %s -p convert-arith-to-llvm --split-input-file | filecheck %s

// CHECK-LABEL: func.func @binary
// CHECK-SAME: (%[[A:.*]]: i32, %[[B:.*]]: i32, %[[X:.*]]: f32, %[[Y:.*]]: f32)
func.func @binary(%a: i32, %b: i32, %x: f32, %y: f32) -> (i32, f32, f32) {
  // CHECK: %[[S:.*]] = llvm.sdiv %[[A]], %[[B]] : i32
  %s = arith.divsi %a, %b : i32
  // CHECK: %[[F:.*]] = llvm.fmul %[[X]], %[[Y]] : f32
  %f = arith.mulf %x, %y : f32
  // CHECK: llvm.call_intrinsic "llvm.maximum.f32"(%[[X]], %[[Y]])
  %m = arith.maximumf %x, %y : f32
  func.return %s, %f, %m : i32, f32, f32
}

// -----

// CHECK-LABEL: func.func @index_becomes_i64
// CHECK-SAME: (%[[I:.*]]: i64) -> i32
func.func @index_becomes_i64(%i: index) -> i32 {
  // CHECK: %[[C:.*]] = llvm.mlir.constant(4) : i64
  %c = arith.constant 4 : index
  // CHECK: %[[M:.*]] = llvm.mul %[[I]], %[[C]] : i64
  %m = arith.muli %i, %c : index
  // CHECK: llvm.trunc %[[M]] : i64 to i32
  %t = arith.index_cast %m : index to i32
  func.return %t : i32
}

// -----

// CHECK-LABEL: func.func @compare_and_cast
func.func @compare_and_cast(%x: f32, %y: f32, %n: i8) -> (i1, f64, i32, i32) {
  // CHECK: llvm.fcmp "ult" %{{.*}}, %{{.*}} : f32
  %c = arith.cmpf ult, %x, %y : f32
  // CHECK: llvm.fpext %{{.*}} : f32 to f64
  %e = arith.extf %x : f32 to f64
  // CHECK: llvm.call_intrinsic "llvm.fptosi.sat.i32.f32"
  %i = arith.fptosi %x : f32 to i32
  // CHECK: llvm.zext %{{.*}} : i8 to i32
  %u = arith.extui %n : i8 to i32
  func.return %c, %e, %i, %u : i1, f64, i32, i32
}

// -----

// CHECK-LABEL: func.func @floor_division
func.func @floor_division(%a: i32, %b: i32) -> i32 {
  // CHECK: %[[Q:.*]] = llvm.sdiv
  // CHECK: %[[R:.*]] = llvm.srem
  // CHECK: %[[LOWER:.*]] = llvm.sub %[[Q]]
  // CHECK: llvm.select %{{.*}}, %[[LOWER]], %[[Q]]
  %q = arith.floordivsi %a, %b : i32
  func.return %q : i32
}

// -----

// Unsigned integers become signless: the ops carry the signedness (divui, cmpi ult).
// CHECK-LABEL: func.func @unsigned_becomes_signless
// CHECK-SAME: (%[[A:.*]]: i8, %[[B:.*]]: i8) -> (i8, i1)
func.func @unsigned_becomes_signless(%a: ui8, %b: ui8) -> (ui8, i1) {
  // CHECK: %[[S:.*]] = llvm.add %[[A]], %[[B]] : i8
  %s = arith.addi %a, %b : ui8
  // CHECK: llvm.udiv %[[S]], %[[B]] : i8
  %d = arith.divui %s, %b : ui8
  // CHECK: llvm.icmp "ult" %[[A]], %[[B]] : i8
  %c = arith.cmpi ult, %a, %b : ui8
  func.return %d, %c : ui8, i1
}

// -----

// bf16 lives as its i16 bits: extension shifts them up into an f32, truncation rounds the f32
// bits to nearest even (NaN made quiet), other ops compute in f32.
// CHECK-LABEL: func.func @bfloat16
// CHECK-SAME: (%[[X:.*]]: i16, %[[Y:.*]]: f32) -> (f32, i16, i16, i16)
func.func @bfloat16(%x: bf16, %y: f32) -> (f32, bf16, bf16, bf16) {
  // CHECK: %[[WIDE:.*]] = llvm.zext %[[X]] : i16 to i32
  // CHECK: %[[SHIFTED:.*]] = llvm.shl %[[WIDE]], %{{.*}} : i32
  // CHECK: llvm.bitcast %[[SHIFTED]] : i32 to f32
  %e = arith.extf %x : bf16 to f32
  // CHECK: %[[BITS:.*]] = llvm.bitcast %[[Y]] : f32 to i32
  // CHECK: llvm.mlir.constant(32767 : i32) : i32
  // CHECK: llvm.fcmp "uno" %[[Y]], %[[Y]] : f32
  // CHECK: llvm.trunc %{{.*}} : i32 to i16
  %t = arith.truncf %y : f32 to bf16
  // CHECK: llvm.mlir.constant(16256 : i16) : i16
  %one = arith.constant 1.0 : bf16
  // CHECK: llvm.fadd %{{.*}}, %{{.*}} : f32
  %s = arith.addf %x, %one : bf16
  func.return %e, %t, %one, %s : f32, bf16, bf16, bf16
}

// -----

// `reassoc` on a float add (a sum's accumulation) reaches llvm.fadd; the other fast-math
// flags do not: ONNX needs IEEE results everywhere else.
// CHECK-LABEL: func.func @reassociable_sum
func.func @reassociable_sum(%x: f32, %y: f32) -> (f32, f32) {
  // CHECK: llvm.fadd %{{.*}}, %{{.*}} {fastmathFlags = #llvm.fastmath<reassoc>} : f32
  %s = arith.addf %x, %y fastmath<reassoc> : f32
  // CHECK-NEXT: llvm.fadd %{{.*}}, %{{.*}} : f32
  %t = arith.addf %x, %y fastmath<nnan,ninf> : f32
  func.return %s, %t : f32, f32
}
