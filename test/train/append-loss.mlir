// RUN: memc-opt %s -split-input-file -memc-append-loss | FileCheck %s --enable-var-scope
// RUN: memc-opt %s -split-input-file -memc-append-loss=kind=mse | FileCheck %s --check-prefix=MSE --enable-var-scope

// Cross-entropy over the last axis: the labels are a new i64 input after
// the model's inputs; logsumexp(x) - x[label], averaged over the positions
// whose label is not -100.
// CHECK-LABEL: func @classifier
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32> {memc.input = "x"}, %[[L:.*]]: tensor<4xi64> {memc.input = "labels"}, %{{.*}}: tensor<8x8xf32> {memc.weight = "w"})
// CHECK-SAME: -> (tensor<f32> {memc.output = "loss"})
// CHECK: %[[Y:.*]] = einsum.einsum mul reduce add
// CHECK: %[[MAX:.*]] = einsum.einsum copy reduce max [p0, c] (%[[Y]][p0, c]) -> [p0]
// CHECK: %[[SUM:.*]] = einsum.einsum sub_exp reduce add [p0, c] (%[[Y]][p0, c], %[[MAX]][p0]) -> [p0]
// CHECK: %[[LOG:.*]] = einsum.einsum log [p0] (%[[SUM]][p0]) -> [p0]
// CHECK: %[[LSE:.*]] = einsum.einsum add [p0] (%[[LOG]][p0], %[[MAX]][p0]) -> [p0]
// CHECK: %[[HOT:.*]] = einsum.einsum eq [p0, c] (%[[L]][p0], %{{.*}}[c]) -> [p0, c]
// CHECK: %[[PICK:.*]] = einsum.einsum select reduce add [p0, c] (%[[HOT]][p0, c], %[[Y]][p0, c], %{{.*}}[]) -> [p0]
// CHECK: %[[NLL:.*]] = einsum.einsum sub [p0] (%[[LSE]][p0], %[[PICK]][p0]) -> [p0]
// CHECK: %[[IGN:.*]] = arith.constant dense<-100> : tensor<i64>
// CHECK: einsum.einsum eq [p0] (%[[L]][p0], %[[IGN]][]) -> [p0]
// CHECK: %[[TOTAL:.*]] = einsum.einsum mul reduce add [p0] (%[[NLL]][p0], %{{.*}}[p0]) -> []
// CHECK: %[[COUNT:.*]] = einsum.einsum copy reduce add [p0] (%{{.*}}[p0]) -> []
// CHECK: %[[LOSS:.*]] = einsum.einsum div [] (%[[TOTAL]][], %[[COUNT]][]) -> []
// CHECK: return %[[LOSS]] : tensor<f32>
// MSE-LABEL: func @classifier
// MSE-SAME: %{{.*}}: tensor<4x8xf32> {memc.input = "labels"}
// MSE: %[[D:.*]] = einsum.einsum sq_diff reduce add [p0, p1]
// MSE: %[[N:.*]] = arith.constant dense<3.200000e+01> : tensor<f32>
// MSE: einsum.einsum div [] (%[[D]][], %[[N]][]) -> []
module attributes {memc.entry = @classifier} {
func.func @classifier(%x: tensor<4x8xf32> {memc.input = "x"},
                      %w: tensor<8x8xf32> {memc.weight = "w"})
    -> (tensor<4x8xf32> {memc.output = "y"}) {
  %y = einsum.einsum mul reduce add [m, n, k] (%x[m, k], %w[n, k]) -> [m, n]
         : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
}
