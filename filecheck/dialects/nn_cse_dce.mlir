// xDSL's cse and dce work on nn ops: they are pure.
// RUN: terrace-opt %s -p cse --split-input-file | filecheck %s --check-prefix=CSE
// RUN: terrace-opt %s -p dce --split-input-file | filecheck %s --check-prefix=DCE

func.func @duplicates(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %a = nn.relu %x : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %b = nn.relu %x : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %c = nn.add %a, %b : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %c : tensor<2x3xf32>
}
// CSE-LABEL: func.func @duplicates
// CSE:         %[[A:.*]] = nn.relu %{{.*}}
// CSE-NOT:     nn.relu
// CSE:         nn.add %[[A]], %[[A]]

// -----

func.func @unused(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %w = nn.weight "unused.w" : tensor<2x3xf32>
  %a = nn.sigmoid %x : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %b = nn.tanh %x : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %b : tensor<2x3xf32>
}
// DCE-LABEL: func.func @unused
// DCE-NOT:     nn.weight
// DCE-NOT:     nn.sigmoid
// DCE:         nn.tanh
