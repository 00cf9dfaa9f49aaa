//===- ImporterTest.cpp - the ONNX importer's contract --------------------===//
#include "dialects/memc/ProgramInterface.h"

#include <cstring>
#include "memc/Driver/Compiler.h"
#include "memc/Driver/Registration.h"
#include "memc/Import/ONNXImporter.h"

#include "mlir/IR/MLIRContext.h"

#include <onnx/onnx_pb.h>

#include <gtest/gtest.h>

namespace {

onnx::ModelProto addModel(int64_t n) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  onnx::GraphProto *g = m.mutable_graph();
  g->set_name("add");
  auto input = [&](onnx::ValueInfoProto *vi, const char *name) {
    vi->set_name(name);
    auto *tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    tt->mutable_shape()->add_dim()->set_dim_value(n);
  };
  input(g->add_input(), "x");
  input(g->add_output(), "y");
  onnx::NodeProto *node = g->add_node();
  node->set_op_type("Add");
  node->add_input("x");
  node->add_input("w");
  node->add_output("y");
  onnx::TensorProto *w = g->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(n);
  for (int64_t i = 0; i < n; ++i)
    w->add_float_data(float(i));
  return m;
}

struct Importer : ::testing::Test {
  Importer() {
    memc::registerAllDialects(registry);
    context = std::make_unique<mlir::MLIRContext>(registry);
  }
  mlir::DialectRegistry registry;
  std::unique_ptr<mlir::MLIRContext> context;
  memc::ImportOptions options;
  memc::ImportResult result;
  memc::ImportError error;
};

TEST_F(Importer, LargeInitializerBecomesWeight) {
  std::string bytes = addModel(1000).SerializeAsString();
  ASSERT_TRUE(memc::importONNXModelFromBytes(bytes, "m.onnx", options,
                                             *context, result, error))
      << error.message;
  // The entry takes the input and returns the output; the weight is a
  // parameter global holding its bytes, which the entry loads.
  mlir::FunctionOpInterface entry = memc::getEntryFunction(*result.module);
  ASSERT_TRUE(entry);
  ASSERT_EQ(entry.getNumArguments(), 1u);
  EXPECT_EQ(memc::getArgRole(entry, 0), memc::ArgRole::Input);
  EXPECT_EQ(memc::getArgName(entry, 0), "x");
  ASSERT_EQ(entry.getNumResults(), 1u);
  EXPECT_EQ(memc::getResultOutputName(entry, 0), "y");
  auto globals = llvm::to_vector(
      result.module->getOps<mlir::ml_program::GlobalOp>());
  ASSERT_EQ(globals.size(), 1u);
  EXPECT_TRUE(memc::isParameter(globals[0]));
  EXPECT_FALSE(memc::isTrainable(globals[0]));
  EXPECT_EQ(memc::getParameterName(globals[0]), "w");
  std::optional<llvm::ArrayRef<char>> data =
      memc::getParameterData(globals[0]);
  ASSERT_TRUE(data);
  EXPECT_EQ(data->size(), 4000u);
  float first;
  std::memcpy(&first, data->data(), sizeof(float));
  EXPECT_EQ(first, 0.0f);
}

TEST_F(Importer, ParameterSymbolsDoNotCollideWithTheEntry) {
  // A weight named like the entry function keeps its manifest name, but its
  // global takes another symbol.
  onnx::ModelProto m = addModel(1000);
  m.mutable_graph()->mutable_initializer(0)->set_name("main_graph");
  m.mutable_graph()->mutable_node(0)->set_input(1, "main_graph");
  std::string bytes = m.SerializeAsString();
  ASSERT_TRUE(memc::importONNXModelFromBytes(bytes, "m.onnx", options,
                                             *context, result, error))
      << error.message;
  auto globals = llvm::to_vector(
      result.module->getOps<mlir::ml_program::GlobalOp>());
  ASSERT_EQ(globals.size(), 1u);
  EXPECT_EQ(memc::getParameterName(globals[0]), "main_graph");
  EXPECT_EQ(globals[0].getSymName(), "main_graph_1");
  EXPECT_EQ(memc::getEntryFunction(*result.module).getName(), "main_graph");
}

TEST_F(Importer, SmallInitializerStaysConstant) {
  std::string bytes = addModel(8).SerializeAsString();
  ASSERT_TRUE(memc::importONNXModelFromBytes(bytes, "m.onnx", options,
                                             *context, result, error));
  EXPECT_TRUE(
      result.module->getOps<mlir::ml_program::GlobalOp>().empty()); // no weights
}

TEST_F(Importer, InitializerDataMustMatchItsShape) {
  // One value short: refused, not padded with zeros.
  onnx::ModelProto m = addModel(300);
  m.mutable_graph()->mutable_initializer(0)->mutable_float_data()->RemoveLast();
  std::string bytes = m.SerializeAsString();
  EXPECT_FALSE(memc::importONNXModelFromBytes(bytes, "m.onnx", options,
                                              *context, result, error));
  EXPECT_EQ(error.code, memc::ExitInvalidModel);
  EXPECT_NE(error.message.find("initializer 'w'"), std::string::npos)
      << error.message;
}

TEST_F(Importer, GarbageIsNotONNX) {
  EXPECT_FALSE(memc::importONNXModelFromBytes("\x08\x01garbage\xff", "g.onnx",
                                              options, *context, result,
                                              error));
  EXPECT_EQ(error.code, memc::ExitNotONNX);
  EXPECT_NE(error.message.find("g.onnx"), std::string::npos);
}

TEST_F(Importer, UnknownOpNamesNodeOpAndOpset) {
  onnx::ModelProto m = addModel(4);
  m.mutable_graph()->mutable_node(0)->set_op_type("Frobnicate");
  m.mutable_graph()->mutable_node(0)->set_name("n7");
  std::string bytes = m.SerializeAsString();
  EXPECT_FALSE(memc::importONNXModelFromBytes(bytes, "m.onnx", options,
                                              *context, result, error));
  EXPECT_EQ(error.code, memc::ExitUnsupported);
  EXPECT_NE(error.message.find("node 'n7' (Frobnicate, opset 13)"),
            std::string::npos)
      << error.message;
}

TEST_F(Importer, DynamicDimNeedsShape) {
  onnx::ModelProto m = addModel(4);
  auto *dim = m.mutable_graph()
                  ->mutable_input(0)
                  ->mutable_type()
                  ->mutable_tensor_type()
                  ->mutable_shape()
                  ->mutable_dim(0);
  dim->set_dim_param("N");
  std::string bytes = m.SerializeAsString();
  EXPECT_FALSE(memc::importONNXModelFromBytes(bytes, "m.onnx", options,
                                              *context, result, error));
  EXPECT_EQ(error.code, memc::ExitUnknownDim);
  options.inputShapes["x"] = {4};
  error = {};
  EXPECT_TRUE(memc::importONNXModelFromBytes(bytes, "m.onnx", options,
                                             *context, result, error))
      << error.message;
}

TEST(ParseDims, AcceptsAndRejects) {
  std::vector<int64_t> dims;
  EXPECT_TRUE(memc::parseDims("1x128x64", dims));
  EXPECT_EQ(dims, (std::vector<int64_t>{1, 128, 64}));
  EXPECT_TRUE(memc::parseDims("scalar", dims));
  EXPECT_TRUE(dims.empty());
  for (const char *bad : {"", "x", "1x", "1xx2", "-1", "1x-2", "abc", "1.5"})
    EXPECT_FALSE(memc::parseDims(bad, dims)) << bad;
}

} // namespace
