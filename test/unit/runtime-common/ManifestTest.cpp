//===- ManifestTest.cpp - manifest.txt parsing ----------------------------===//
//
// The manifest is the program's calling convention; these tests pin what is
// accepted and that every rejection names the file and line.
//
//===----------------------------------------------------------------------===//

#include "memc/Runtime/Manifest.h"

#include <gtest/gtest.h>

using namespace memc::rt;

namespace {

bool parse(const std::string &text, Manifest &m, std::string &error) {
  return parseManifest(text, "pkg/manifest.txt", m, error);
}

/// Expects a rejection whose message starts with "pkg/manifest.txt:<line>:"
/// and contains `fragment`.
void expectError(const std::string &text, int line,
                 const std::string &fragment) {
  Manifest m;
  std::string error;
  EXPECT_FALSE(parse(text, m, error)) << text;
  std::string prefix = "pkg/manifest.txt:" + std::to_string(line) + ": ";
  EXPECT_EQ(error.compare(0, prefix.size(), prefix), 0)
      << "error '" << error << "' lacks prefix '" << prefix << "'";
  EXPECT_NE(error.find(fragment), std::string::npos)
      << "error '" << error << "' lacks '" << fragment << "'";
  EXPECT_EQ(error.find('\n'), std::string::npos) << "one line: " << error;
}

const char kGood[] = "memc-package 1\n"
                     "model /data/my model.onnx\n"
                     "arena_bytes 4096\n"
                     "input x f32 1x128x64\n"
                     "input mask bool scalar\n"
                     "weight w1 f16 64x32 0 4096\n"
                     "weight w2 i64 3 4096 24\n"
                     "output y bf16 1x0x32\n";

} // namespace

TEST(Manifest, ParsesEveryLineKind) {
  Manifest m;
  std::string error;
  ASSERT_TRUE(parse(kGood, m, error)) << error;
  EXPECT_EQ(m.version, 1);
  EXPECT_EQ(m.model, "/data/my model.onnx");
  EXPECT_EQ(m.arenaBytes, 4096u);
  ASSERT_EQ(m.inputs.size(), 2u);
  EXPECT_EQ(m.inputs[0].name, "x");
  EXPECT_EQ(m.inputs[0].dtype, DType::F32);
  EXPECT_EQ(m.inputs[0].dims, (std::vector<int64_t>{1, 128, 64}));
  EXPECT_EQ(m.inputs[0].numElements, 128u * 64u);
  EXPECT_EQ(m.inputs[0].byteSize, 128u * 64u * 4u);
  EXPECT_EQ(m.inputs[1].dtype, DType::Bool);
  EXPECT_TRUE(m.inputs[1].dims.empty());
  EXPECT_EQ(m.inputs[1].numElements, 1u);
  EXPECT_EQ(m.inputs[1].byteSize, 1u);
  ASSERT_EQ(m.weights.size(), 2u);
  EXPECT_EQ(m.weights[0].dtype, DType::F16);
  EXPECT_EQ(m.weights[0].offset, 0u);
  EXPECT_EQ(m.weights[0].byteSize, 4096u);
  EXPECT_EQ(m.weights[1].offset, 4096u);
  EXPECT_EQ(m.weights[1].byteSize, 24u);
  ASSERT_EQ(m.outputs.size(), 1u);
  EXPECT_EQ(m.outputs[0].dtype, DType::BF16);
  EXPECT_EQ(m.outputs[0].numElements, 0u);
  EXPECT_EQ(m.outputs[0].byteSize, 0u);
}

TEST(Manifest, ToleratesBlankLinesCommentsCRLFAndOptionalLines) {
  Manifest m;
  std::string error;
  ASSERT_TRUE(parse("memc-package 1\r\n\r\n# a comment\r\n"
                    "  input   a\ti32   2x2  \r\noutput b u8 4\r\n",
                    m, error))
      << error;
  EXPECT_EQ(m.model, "");
  EXPECT_EQ(m.arenaBytes, 0u);
  ASSERT_EQ(m.inputs.size(), 1u);
  EXPECT_EQ(m.inputs[0].name, "a");
  EXPECT_EQ(m.inputs[0].dims, (std::vector<int64_t>{2, 2}));
  ASSERT_EQ(m.outputs.size(), 1u);
  EXPECT_EQ(m.outputs[0].dims, (std::vector<int64_t>{4}));
}

TEST(Manifest, GroupsInterleavedLinesInOrder) {
  Manifest m;
  std::string error;
  ASSERT_TRUE(parse("memc-package 1\noutput o1 f32 1\ninput i1 f32 1\n"
                    "output o2 f32 1\ninput i2 f32 1\n",
                    m, error))
      << error;
  ASSERT_EQ(m.inputs.size(), 2u);
  EXPECT_EQ(m.inputs[1].name, "i2");
  ASSERT_EQ(m.outputs.size(), 2u);
  EXPECT_EQ(m.outputs[0].name, "o1");
}

TEST(Manifest, AllDTypes) {
  const char *names[] = {"f32", "f64", "f16", "bf16", "i8",  "i16", "i32",
                         "i64", "u8",  "u16", "u32",  "u64", "bool"};
  const size_t sizes[] = {4, 8, 2, 2, 1, 2, 4, 8, 1, 2, 4, 8, 1};
  for (size_t i = 0; i < 13; ++i) {
    Manifest m;
    std::string error;
    ASSERT_TRUE(parse(
        std::string("memc-package 1\ninput x ") + names[i] + " 3\n", m, error))
        << error;
    EXPECT_STREQ(dtypeName(m.inputs[0].dtype), names[i]);
    EXPECT_EQ(m.inputs[0].byteSize, 3 * sizes[i]) << names[i];
  }
}

TEST(Manifest, RejectsBadHeaders) {
  expectError("", 1, "not a memc manifest");
  expectError("\n", 1, "not a memc manifest");
  expectError("input x f32 1\n", 1, "not a memc manifest");
  expectError("memc-package\n", 1, "not a memc manifest");
  expectError("memc-package 2\n", 1, "version '2' is not supported");
  expectError("memc-package one\n", 1, "version 'one'");
}

TEST(Manifest, RejectsMalformedLines) {
  const std::string h = "memc-package 1\n";
  expectError(h + "inputs x f32 1\n", 2, "unknown line kind 'inputs'");
  expectError(h + "input x f32\n", 2, "got 3 fields");
  expectError(h + "input x f32 1 extra\n", 2, "got 5 fields");
  expectError(h + "weight w f32 1 0\n", 2, "got 5 fields");
  expectError(h + "input x float 1\n", 2, "unknown dtype 'float'");
  expectError(h + "input x F32 1\n", 2, "unknown dtype 'F32'");
  expectError(h + "arena_bytes -1\n", 2, "arena_bytes <N>");
  expectError(h + "arena_bytes 12 13\n", 2, "arena_bytes <N>");
  expectError(h + "arena_bytes 1\narena_bytes 2\n", 3, "duplicate");
  expectError(h + "model a\nmodel b\n", 3, "duplicate 'model'");
  expectError(h + "\n# c\ninput x f32 1x\n", 4, "bad dims '1x'");
}

TEST(Manifest, RejectsBadDims) {
  const std::string h = "memc-package 1\ninput x f32 ";
  for (const char *dims :
       {"x2", "1xx2", "-1", "2x-3", "1x?", "+3", "2X3", "1.5", "scalarx2",
        "99999999999999999999", "9223372036854775808"})
    expectError(h + dims + "\n", 2, std::string("bad dims '") + dims + "'");
  // Each dim fits, their product does not.
  expectError(h + "4294967296x4294967296\n", 2, "too large");
  expectError(h + "4611686018427387904x4\n", 2, "too large");
}

TEST(Manifest, ChecksWeightSizeAndAlignment) {
  const std::string h = "memc-package 1\n";
  expectError(h + "weight w f32 2x3 0 20\n", 2,
              "has 20 bytes but f32 2x3 "
              "needs 24");
  expectError(h + "weight w f32 2x3 32 24\n", 2, "not 64-byte aligned");
  expectError(h + "weight w f32 2x3 x 24\n", 2, "bad byte offset 'x'");
  expectError(h + "weight w f32 2x3 0 -24\n", 2, "bad byte size '-24'");
  Manifest m;
  std::string error;
  EXPECT_TRUE(parse(h + "weight w f32 0x3 128 0\n", m, error)) << error;
}

TEST(Manifest, ParseDims) {
  std::vector<int64_t> d;
  EXPECT_TRUE(parseDims("scalar", d));
  EXPECT_TRUE(d.empty());
  EXPECT_TRUE(parseDims("7", d));
  EXPECT_EQ(d, (std::vector<int64_t>{7}));
  EXPECT_TRUE(parseDims("0x1x9223372036854775807", d));
  EXPECT_EQ(d.back(), INT64_MAX);
  EXPECT_FALSE(parseDims("", d));
  EXPECT_FALSE(parseDims("x", d));
  EXPECT_FALSE(parseDims("1 2", d));
  EXPECT_EQ(formatDims({}), "scalar");
  EXPECT_EQ(formatDims({1, 128, 64}), "1x128x64");
}

//===----------------------------------------------------------------------===//
// The program's interface (model.so's memc_interface) against the manifest
//===----------------------------------------------------------------------===//

namespace {

const char kInterface[] = "memc-interface 1\n"
                          "arena_bytes 4096\n"
                          "host_pool_bytes 0\n"
                          "input x f32 1x128x64\n"
                          "input mask bool scalar\n"
                          "weight w1 f16 64x32\n"
                          "weight w2 i64 3\n"
                          "output y bf16 1x0x32\n";

/// kGood with `from` replaced by `to`, compared with kInterface.
std::string checkEdited(const std::string &from, const std::string &to) {
  std::string text = kGood;
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos)
    text.replace(at, from.size(), to);
  Manifest m, program;
  std::string error;
  EXPECT_TRUE(parseManifest(text, "pkg/manifest.txt", m, error)) << error;
  EXPECT_TRUE(parseInterface(kInterface, "pkg/model.so", program, error))
      << error;
  if (checkInterface(m, program, "pkg/manifest.txt", "model.so", error))
    return "";
  EXPECT_EQ(error.find('\n'), std::string::npos) << "one line: " << error;
  return error;
}

} // namespace

TEST(Interface, ParsesAndMatchesTheManifest) {
  Manifest program;
  std::string error;
  ASSERT_TRUE(parseInterface(kInterface, "pkg/model.so", program, error))
      << error;
  EXPECT_EQ(program.arenaBytes, 4096u);
  ASSERT_EQ(program.weights.size(), 2u);
  EXPECT_EQ(program.weights[0].byteSize, 64u * 32u * 2u);
  EXPECT_EQ(program.outputs[0].dtype, DType::BF16);
  EXPECT_EQ(checkEdited("model", "model"), "");
}

TEST(Interface, EveryDisagreementIsNamed) {
  const std::string tail = "; the package is damaged: recompile it";
  EXPECT_EQ(checkEdited("arena_bytes 4096", "arena_bytes 0"),
            "pkg/manifest.txt: arena_bytes 0, but model.so was compiled for "
            "arena_bytes 4096" +
                tail);
  EXPECT_EQ(
      checkEdited("arena_bytes 4096", "arena_bytes 4096\nhost_pool_bytes 64"),
      "pkg/manifest.txt: host_pool_bytes 64, but model.so was compiled "
      "for host_pool_bytes 0" +
          tail);
  EXPECT_EQ(checkEdited("output y bf16 1x0x32", "output y bf16 1x0x3"),
            "pkg/manifest.txt: output 'y' is bf16 1x0x3, but model.so was "
            "compiled for bf16 1x0x32" +
                tail);
  EXPECT_EQ(checkEdited("input x f32", "input x f16"),
            "pkg/manifest.txt: input 'x' is f16 1x128x64, but model.so was "
            "compiled for f32 1x128x64" +
                tail);
  EXPECT_EQ(checkEdited("weight w2 i64 3 4096 24", "weight w2 i64 2 4096 16"),
            "pkg/manifest.txt: weight 'w2' is i64 2, but model.so was "
            "compiled for i64 3" +
                tail);
  EXPECT_EQ(checkEdited("input mask bool scalar\n", ""),
            "pkg/manifest.txt: 1 input line, but model.so was compiled for "
            "2 inputs" +
                tail);
  EXPECT_EQ(checkEdited("input x ", "input z "),
            "pkg/manifest.txt: input 0 is named 'z', but model.so was "
            "compiled for 'x'" +
                tail);
}

TEST(Interface, RejectsMalformedText) {
  Manifest m;
  std::string error;
  EXPECT_FALSE(parseInterface("", "so", m, error));
  EXPECT_FALSE(parseInterface("memc-interface 2\n", "so", m, error));
  EXPECT_NE(error.find("version"), std::string::npos) << error;
  // Cut short: both pool sizes are always written.
  EXPECT_FALSE(
      parseInterface("memc-interface 1\narena_bytes 0\n", "so", m, error));
  EXPECT_NE(error.find("no 'host_pool_bytes' line"), std::string::npos)
      << error;
  EXPECT_FALSE(parseInterface("memc-interface 1\narena_bytes 0\n"
                              "host_pool_bytes 0\ninput x f32 2x\n",
                              "so", m, error));
  EXPECT_EQ(error.rfind("so:4: bad dims", 0), 0u) << error;
  EXPECT_FALSE(parseInterface("memc-interface 1\narena_bytes 0\n"
                              "host_pool_bytes 0\nweight w f32 2 0 8\n",
                              "so", m, error));
  EXPECT_FALSE(parseInterface("memc-interface 1\narena_bytes 0\n"
                              "arena_bytes 0\n",
                              "so", m, error));
}

TEST(Manifest, RejectsWeightOffsetPastAnyFile) {
  expectError("memc-package 1\nweight w f32 32 18446744073709551552 128\n", 2,
              "past any file's end");
}

//===----------------------------------------------------------------------===//
// Train packages (docs/package-format.md "Train packages")
//===----------------------------------------------------------------------===//

namespace {

const char kTrain[] = "memc-package 1\n"
                      "model mlp.onnx\n"
                      "train cross-entropy adamw:lr=0.001,beta1=0.9\n"
                      "arena_bytes 0\n"
                      "input in0 f32 4x64\n"
                      "input labels i64 4\n"
                      "weight fc1.weight f32 128x64 0 32768 trainable\n"
                      "weight mask f32 64x64 32768 16384\n"
                      "state fc1.weight.m f32 128x64 fc1.weight\n"
                      "state fc1.weight.v f32 128x64 fc1.weight\n"
                      "step step i64 scalar\n"
                      "output loss f32 scalar\n";

const char kTrainInterface[] = "memc-interface 1\n"
                               "arena_bytes 0\n"
                               "host_pool_bytes 0\n"
                               "input in0 f32 4x64\n"
                               "input labels i64 4\n"
                               "weight fc1.weight f32 128x64 trainable\n"
                               "weight mask f32 64x64\n"
                               "state fc1.weight.m f32 128x64 fc1.weight\n"
                               "state fc1.weight.v f32 128x64 fc1.weight\n"
                               "step step i64 scalar\n"
                               "output loss f32 scalar\n";

/// `text` with the first `from` replaced by `to`.
std::string edited(std::string text, const std::string &from,
                   const std::string &to) {
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos)
    text.replace(at, from.size(), to);
  return text;
}

/// kTrain edited, compared with kTrainInterface edited; "" when they agree.
std::string checkTrainEdited(const std::string &manifestFrom,
                             const std::string &manifestTo,
                             const std::string &ifaceFrom = "",
                             const std::string &ifaceTo = "") {
  Manifest m, program;
  std::string error;
  EXPECT_TRUE(parse(edited(kTrain, manifestFrom, manifestTo), m, error))
      << error;
  std::string iface = ifaceFrom.empty()
                          ? std::string(kTrainInterface)
                          : edited(kTrainInterface, ifaceFrom, ifaceTo);
  EXPECT_TRUE(parseInterface(iface, "pkg/model.so", program, error)) << error;
  if (checkInterface(m, program, "pkg/manifest.txt", "model.so", error))
    return "";
  EXPECT_EQ(error.find('\n'), std::string::npos) << "one line: " << error;
  return error;
}

} // namespace

TEST(TrainManifest, ParsesTrainRecords) {
  Manifest m;
  std::string error;
  ASSERT_TRUE(parse(kTrain, m, error)) << error;
  EXPECT_TRUE(m.isTrain());
  EXPECT_EQ(m.trainLoss, "cross-entropy");
  EXPECT_EQ(m.trainOptimizer, "adamw:lr=0.001,beta1=0.9");
  ASSERT_EQ(m.inputs.size(), 2u);
  EXPECT_EQ(m.inputs[1].dtype, DType::I64);
  ASSERT_EQ(m.weights.size(), 2u);
  EXPECT_TRUE(m.weights[0].trainable);
  EXPECT_EQ(m.weights[0].byteSize, 32768u);
  EXPECT_FALSE(m.weights[1].trainable);
  EXPECT_EQ(m.weights[1].offset, 32768u);
  ASSERT_EQ(m.states.size(), 2u);
  EXPECT_EQ(m.states[1].name, "fc1.weight.v");
  EXPECT_EQ(m.states[1].param, "fc1.weight");
  EXPECT_EQ(m.states[1].byteSize, 32768u);
  ASSERT_TRUE(m.step.has_value());
  EXPECT_EQ(m.step->name, "step");
  EXPECT_EQ(m.step->byteSize, 8u);
  ASSERT_EQ(m.outputs.size(), 1u);
  EXPECT_EQ(m.outputs[0].name, "loss");

  // An inference manifest is none of this.
  ASSERT_TRUE(parse(kGood, m, error)) << error;
  EXPECT_FALSE(m.isTrain());
  EXPECT_TRUE(m.states.empty());
  EXPECT_FALSE(m.step.has_value());

  // SGD has no state; the loss kind `output` has no labels.
  ASSERT_TRUE(parse("memc-package 1\ntrain output:y sgd:lr=0.1\n"
                    "input x f32 2\nweight w f32 2 0 8 trainable\n"
                    "step t i64 scalar\noutput loss f32 scalar\n",
                    m, error))
      << error;
  EXPECT_EQ(m.trainLoss, "output:y");
  EXPECT_TRUE(m.states.empty());
}

TEST(TrainManifest, TrainRecordsNeedATrainLine) {
  const std::string h = "memc-package 1\ninput x f32 2\n";
  expectError(h + "weight w f32 2 0 8 trainable\noutput y f32 2\n", 3,
              "a 'trainable' weight in a manifest without a 'train' line");
  expectError(h + "weight w f32 2 0 8\nstate w.m f32 2 w\n", 4,
              "a 'state' line in a manifest without a 'train' line");
  expectError(h + "output y f32 2\nstep t i64 scalar\n", 4,
              "a 'step' line in a manifest without a 'train' line");
  // The first such line in the file is the one named.
  expectError(h + "state w.m f32 2 w\nweight w f32 2 0 8 trainable\n", 3,
              "'state' line");
}

TEST(TrainManifest, RejectsMalformedTrainRecords) {
  const std::string t = "memc-package 1\ntrain mse sgd\n";
  const std::string rest = "step t i64 scalar\noutput loss f32 scalar\n";
  expectError("memc-package 1\ntrain mse\n", 2,
              "expected 'train <loss> <optimizer>', got 2 fields");
  expectError("memc-package 1\ntrain mse sgd lr=1\n", 2, "got 4 fields");
  expectError(t + "train mse sgd\n", 3, "duplicate 'train' line");
  expectError(t + "weight w f32 2 0 8 frozen\n" + rest, 3,
              "unexpected 'frozen' after weight 'w'");
  expectError(t + "weight w f32 2 0 8 trainable x\n" + rest, 3, "got 8 fields");
  expectError(t + "weight w i32 2 0 8 trainable\n" + rest, 3,
              "trainable weight 'w' is i32: only floating-point weights");
  expectError(t + "state w.m f32 2\n" + rest, 3,
              "expected 'state <name> <dtype> <dims> <parameter>', got 4");
  expectError(t + "state w.m f32 2x 8\n" + rest, 3, "bad dims '2x'");
  expectError(t + "step t i32 scalar\noutput loss f32 scalar\n", 3,
              "the step 't' is i32 scalar (expected 'step <name> i64 "
              "scalar')");
  expectError(t + "step t i64 1\noutput loss f32 scalar\n", 3,
              "the step 't' is i64 1");
  expectError(t + "step t i64\n", 3, "got 3 fields");
  expectError(t + rest + "step t2 i64 scalar\n", 5, "duplicate 'step' line");
}

TEST(TrainManifest, ChecksWhatTheLinesMustAgreeOn) {
  const std::string t = "memc-package 1\ntrain mse sgd\n";
  const std::string w = "weight w f32 2 0 8 trainable\n";
  // A step and exactly one f32 scalar output.
  expectError(t + w + "output loss f32 scalar\n", 2,
              "a train package needs one 'step <name> i64 scalar' line");
  expectError(t + w + "step t i64 scalar\n", 2,
              "exactly one output (the loss), not 0");
  expectError(t + w +
                  "step t i64 scalar\noutput loss f32 scalar\n"
                  "output y f32 2\n",
              6, "exactly one output (the loss), not 2");
  expectError(t + w + "step t i64 scalar\noutput loss f64 scalar\n", 5,
              "the loss 'loss' is f64 scalar (a train package's output is "
              "f32 scalar)");
  expectError(t + w + "step t i64 scalar\noutput loss f32 1\n", 5,
              "the loss 'loss' is f32 1");
  // A state belongs to a trainable weight.
  const std::string rest = "step t i64 scalar\noutput loss f32 scalar\n";
  expectError(t + w + "state v.m f32 2 v\n" + rest, 4,
              "state 'v.m' belongs to 'v', which is no trainable weight");
  expectError(t + w + "weight f f32 2 64 8\nstate f.m f32 2 f\n" + rest, 5,
              "state 'f.m' belongs to 'f', which is no trainable weight");
  // Names are unique among what a state file holds.
  expectError(t + w + "state w f32 2 w\n" + rest, 2,
              "two trainable weights or states are named 'w'");
  expectError(t + w + "state m f32 2 w\nstate m f32 2 w\n" + rest, 2,
              "named 'm'");
  // The groups may interleave; the order within each is what counts.
  Manifest m;
  std::string error;
  ASSERT_TRUE(parse(t +
                        "output loss f32 scalar\nstate w.m f32 2 w\n"
                        "step t i64 scalar\n" +
                        w,
                    m, error))
      << error;
  EXPECT_EQ(m.states[0].param, "w");
}

TEST(TrainInterface, ParsesAndMatchesTheManifest) {
  Manifest program;
  std::string error;
  ASSERT_TRUE(parseInterface(kTrainInterface, "pkg/model.so", program, error))
      << error;
  EXPECT_FALSE(program.isTrain()); // the train line is the manifest's alone
  EXPECT_TRUE(program.weights[0].trainable);
  ASSERT_EQ(program.states.size(), 2u);
  EXPECT_EQ(program.states[0].param, "fc1.weight");
  ASSERT_TRUE(program.step.has_value());
  EXPECT_EQ(checkTrainEdited("model", "model"), "");

  EXPECT_FALSE(
      parseInterface(std::string(kTrainInterface) + "step again i64 scalar\n",
                     "so", program, error));
  EXPECT_NE(error.find("duplicate 'step'"), std::string::npos) << error;
  EXPECT_FALSE(parseInterface("memc-interface 1\narena_bytes 0\n"
                              "host_pool_bytes 0\n"
                              "weight w f32 2 0 8 trainable\n",
                              "so", program, error));
  EXPECT_NE(error.find("got 7 fields"), std::string::npos) << error;
}

TEST(TrainInterface, EveryDisagreementIsNamed) {
  const std::string tail = "; the package is damaged: recompile it";
  EXPECT_EQ(
      checkTrainEdited("64x64 32768 16384", "64x64 32768 16384 trainable"),
      "pkg/manifest.txt: weight 'mask' is trainable, but model.so was "
      "compiled for it not trainable" +
          tail);
  EXPECT_EQ(checkTrainEdited("", "", "weight fc1.weight f32 128x64 trainable",
                             "weight fc1.weight f32 128x64"),
            "pkg/manifest.txt: weight 'fc1.weight' is trainable, but "
            "model.so was compiled for it not trainable" +
                tail);
  EXPECT_EQ(checkTrainEdited("state fc1.weight.v f32 128x64 fc1.weight\n", ""),
            "pkg/manifest.txt: 1 state line, but model.so was compiled for 2 "
            "states" +
                tail);
  EXPECT_EQ(checkTrainEdited("state fc1.weight.v f32 128x64",
                             "state fc1.weight.w f32 128x64"),
            "pkg/manifest.txt: state 1 is named 'fc1.weight.w', but model.so "
            "was compiled for 'fc1.weight.v'" +
                tail);
  EXPECT_EQ(checkTrainEdited("", "", "state fc1.weight.v f32 128x64",
                             "state fc1.weight.v f32 64x128"),
            "pkg/manifest.txt: state 'fc1.weight.v' is f32 128x64, but "
            "model.so was compiled for f32 64x128" +
                tail);
  EXPECT_EQ(checkTrainEdited("", "", "state fc1.weight.v f32 128x64 fc1.weight",
                             "state fc1.weight.v f32 128x64 mask"),
            "pkg/manifest.txt: state 'fc1.weight.v' belongs to 'fc1.weight', "
            "but model.so was compiled for it belonging to 'mask'" +
                tail);
  EXPECT_EQ(checkTrainEdited("step step i64", "step t i64"),
            "pkg/manifest.txt: step 0 is named 't', but model.so was "
            "compiled for 'step'" +
                tail);
  // A train manifest against an inference program (a stale model.so).
  Manifest m, program;
  std::string error;
  ASSERT_TRUE(parse(kTrain, m, error)) << error;
  ASSERT_TRUE(parseInterface("memc-interface 1\narena_bytes 0\n"
                             "host_pool_bytes 0\ninput in0 f32 4x64\n"
                             "input labels i64 4\n"
                             "weight fc1.weight f32 128x64\n"
                             "weight mask f32 64x64\n"
                             "output loss f32 scalar\n",
                             "so", program, error))
      << error;
  EXPECT_FALSE(
      checkInterface(m, program, "pkg/manifest.txt", "model.so", error));
  EXPECT_EQ(error, "pkg/manifest.txt: weight 'fc1.weight' is trainable, but "
                   "model.so was compiled for it not trainable" +
                       tail);
}
