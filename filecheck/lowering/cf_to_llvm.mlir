// RUN: terrace-opt %s -p convert-cf-to-llvm --split-input-file | filecheck %s

// CHECK-LABEL: func.func @branches
func.func @branches(%c: i1, %x: f32) -> f32 {
  // CHECK: llvm.cond_br %{{.*}}, ^[[THEN:.*]](%{{.*}} : f32), ^[[ELSE:.*]]
  cf.cond_br %c, ^bb1(%x : f32), ^bb2
^bb1(%v: f32):
  // CHECK: llvm.br ^[[ELSE]]
  cf.br ^bb2
^bb2:
  func.return %x : f32
}
