//===- PackageFormatTest.cpp - the package format's spellings -------------===//
//
// PackageFormat.h is the contract between memc, which writes packages, and
// the runtimes, which read them. These tests pin its element-type table
// (spelling <-> DType <-> size, both ways) and that the parsers accept what
// the constants spell and nothing else, so a change to one side of the
// contract cannot go unnoticed.
//
//===----------------------------------------------------------------------===//

#include "memc/Runtime/PackageFormat.h"
#include "memc/Runtime/LineReader.h"
#include "memc/Runtime/Manifest.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

using namespace memc;
using namespace memc::package;

namespace {

// The table is usable at compile time, as the writer may use it.
static_assert(dtypeSize("f32") == 4 && dtypeSize("bf16") == 2 &&
                  dtypeSize("bool") == 1 && dtypeSize("f8") == 0,
              "dtypeSize by spelling");
static_assert(dtypeSize(DType::I64) == 8, "dtypeSize by type");

TEST(PackageFormat, DTypeSpellingsRoundTrip) {
  std::set<std::string> seen;
  for (size_t i = 0; i < kNumDTypes; ++i) {
    DType t = DType(i);
    const char *name = dtypeName(t);
    ASSERT_NE(name, nullptr);
    EXPECT_TRUE(seen.insert(name).second) << "duplicate spelling " << name;
    DType back = DType::Bool;
    ASSERT_TRUE(parseDType(name, back)) << name;
    EXPECT_EQ(back, t) << name;
    EXPECT_EQ(dtypeSize(name), dtypeSize(t)) << name;
  }
  EXPECT_EQ(seen.size(), size_t(DType::Bool) + 1);
}

TEST(PackageFormat, DTypeSizesAndKinds) {
  struct Want {
    const char *name;
    size_t bytes;
    bool floating;
  } wants[] = {{"f32", 4, true},  {"f64", 8, true},  {"f16", 2, true},
               {"bf16", 2, true}, {"i8", 1, false},  {"i16", 2, false},
               {"i32", 4, false}, {"i64", 8, false}, {"u8", 1, false},
               {"u16", 2, false}, {"u32", 4, false}, {"u64", 8, false},
               {"bool", 1, false}};
  ASSERT_EQ(sizeof(wants) / sizeof(wants[0]), kNumDTypes);
  for (const Want &w : wants) {
    DType t = DType::F32;
    ASSERT_TRUE(parseDType(w.name, t)) << w.name;
    EXPECT_EQ(dtypeSize(t), w.bytes) << w.name;
    EXPECT_EQ(isFloating(t), w.floating) << w.name;
  }
}

TEST(PackageFormat, UnknownSpellingsAreRefused) {
  for (const char *name :
       {"", "F32", "float", "f32 ", " f32", "f8", "i1", "int32", "boolean"}) {
    DType t = DType::F32;
    EXPECT_FALSE(parseDType(name, t)) << "'" << name << "'";
    EXPECT_EQ(dtypeSize(std::string_view(name)), 0u) << "'" << name << "'";
  }
}

/// A manifest spelled with the constants only, as the writer spells it.
std::string manifestFromConstants() {
  std::string s = std::string(kManifestMagic) + " " +
                  std::to_string(kManifestVersion) + "\n";
  s += std::string(kModelRecord) + " m.onnx\n";
  s += std::string(kTargetRecord) + " " + kTargetCUDA + "\n";
  s += std::string(kArenaBytesRecord) + " 128\n";
  s += std::string(kHostPoolBytesRecord) + " 64\n";
  s += std::string(kInputRecord) + " x " + dtypeName(DType::F16) + " 2" +
       kDimSeparator + "3\n";
  s += std::string(kWeightRecord) + " w " + dtypeName(DType::I64) + " " +
       kScalarDims + " " + std::to_string(kWeightAlignment) + " 8\n";
  s += std::string(kOutputRecord) + " y " + dtypeName(DType::Bool) + " 5\n";
  return s;
}

TEST(PackageFormat, TheManifestParserReadsTheConstants) {
  rt::Manifest m;
  std::string error;
  ASSERT_TRUE(
      rt::parseManifest(manifestFromConstants(), kManifestFile, m, error))
      << error;
  EXPECT_EQ(m.version, kManifestVersion);
  EXPECT_EQ(m.target, kTargetCUDA);
  EXPECT_EQ(m.arenaBytes, 128u);
  EXPECT_EQ(m.hostPoolBytes, 64u);
  ASSERT_EQ(m.inputs.size(), 1u);
  EXPECT_EQ(m.inputs[0].byteSize, 12u);
  ASSERT_EQ(m.weights.size(), 1u);
  EXPECT_EQ(m.weights[0].offset, kWeightAlignment);
  EXPECT_TRUE(m.weights[0].dims.empty());
  ASSERT_EQ(m.outputs.size(), 1u);
  EXPECT_EQ(m.outputs[0].dtype, DType::Bool);
  // A manifest without a target line is for the CPU.
  ASSERT_TRUE(rt::parseManifest(std::string(kManifestMagic) + " 1\n",
                                kManifestFile, m, error))
      << error;
  EXPECT_EQ(m.target, kTargetCPU);
}

TEST(PackageFormat, HeadersAreMagicThenVersion) {
  struct Header {
    const char *magic;
    int version;
  } headers[] = {{kManifestMagic, kManifestVersion},
                 {kInterfaceMagic, kInterfaceVersion},
                 {kLaunchPlanMagic, kLaunchPlanVersion}};
  for (const Header &h : headers) {
    // LineReader keeps a view of the text: the strings outlive it.
    std::string error,
        text = std::string(h.magic) + " " + std::to_string(h.version) + "\n";
    rt::LineReader ok(text, "f");
    EXPECT_TRUE(ok.readHeader(h.magic, h.version, "file", error)) << error;
    std::string later =
        std::string(h.magic) + " " + std::to_string(h.version + 1) + "\n";
    rt::LineReader next(later, "f");
    EXPECT_FALSE(next.readHeader(h.magic, h.version, "file", error));
  }
  // The three files cannot be taken for one another.
  EXPECT_STRNE(kManifestMagic, kInterfaceMagic);
  EXPECT_STRNE(kManifestMagic, kLaunchPlanMagic);
  EXPECT_STRNE(kInterfaceMagic, kLaunchPlanMagic);
}

TEST(PackageFormat, UnknownDTypeErrorListsEverySpelling) {
  rt::Manifest m;
  std::string error;
  EXPECT_FALSE(
      rt::parseManifest(std::string(kManifestMagic) + " 1\ninput x float 1\n",
                        kManifestFile, m, error));
  EXPECT_NE(error.find("(want f32 f64 f16 bf16 i8 i16 i32 i64 u8 u16 u32 u64 "
                       "bool)"),
            std::string::npos)
      << error;
}

} // namespace
