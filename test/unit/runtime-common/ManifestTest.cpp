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
