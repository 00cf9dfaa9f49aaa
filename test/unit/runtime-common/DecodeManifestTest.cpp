//===- DecodeManifestTest.cpp - decode packages' manifests ----------------===//
//
// A decode package's manifest names its two programs and the caches'
// layout; each program's manifest lists its KV caches as `kv` lines, which
// checkInterface compares like every other argument.
//
//===----------------------------------------------------------------------===//

#include "memc/Runtime/DecodeManifest.h"
#include "memc/Runtime/Manifest.h"

#include <gtest/gtest.h>

using namespace memc::rt;

namespace {

const char kContiguous[] = "memc-package 1\n"
                           "model /m/model.onnx\n"
                           "decode 128 2 contiguous\n"
                           "program prefill 64\n"
                           "program decode 1\n";

void expectError(const std::string &text, const std::string &fragment) {
  DecodeManifest d;
  std::string error;
  EXPECT_FALSE(parseDecodeManifest(text, "pkg/manifest.txt", d, error))
      << text;
  EXPECT_EQ(error.rfind("pkg/manifest.txt:", 0), 0u) << error;
  EXPECT_NE(error.find(fragment), std::string::npos)
      << "error '" << error << "' lacks '" << fragment << "'";
}

} // namespace

TEST(DecodeManifest, ParsesContiguousAndPaged) {
  DecodeManifest d;
  std::string error;
  ASSERT_TRUE(isDecodeManifest(kContiguous));
  ASSERT_TRUE(parseDecodeManifest(kContiguous, "m", d, error)) << error;
  EXPECT_EQ(d.model, "/m/model.onnx");
  EXPECT_EQ(d.capacity, 128);
  EXPECT_EQ(d.batch, 2);
  EXPECT_EQ(d.layout, "contiguous");
  EXPECT_EQ(d.page, 0);
  EXPECT_EQ(d.prefillRows, 64);
  EXPECT_EQ(d.decodeRows, 1);

  std::string paged = kContiguous;
  paged.replace(paged.find("contiguous"), 10, "paged:16");
  ASSERT_TRUE(parseDecodeManifest(paged, "m", d, error)) << error;
  EXPECT_EQ(d.layout, "paged:16");
  EXPECT_EQ(d.page, 16);
  EXPECT_EQ(d.kvDtype, "f32");

  std::string i8 = std::string(kContiguous) + "kv_dtype i8\n";
  ASSERT_TRUE(parseDecodeManifest(i8, "m", d, error)) << error;
  EXPECT_EQ(d.kvDtype, "i8");
}

TEST(DecodeManifest, AnOrdinaryManifestIsNoDecodePackage) {
  EXPECT_FALSE(isDecodeManifest("memc-package 1\narena_bytes 0\n"
                                "input x f32 1\noutput y f32 1\n"));
  EXPECT_FALSE(isDecodeManifest("not a manifest\ndecode 1 1 contiguous\n"));
}

TEST(DecodeManifest, RejectsWhatItCannotRun) {
  expectError("memc-package 1\nprogram prefill 4\nprogram decode 1\n",
              "no 'decode' line");
  expectError("memc-package 1\ndecode 128 2 ring\n", "paged:<block>");
  expectError("memc-package 1\ndecode 128 2 paged:48\n",
              "a block that divides the capacity");
  expectError("memc-package 1\ndecode 128 0 contiguous\n", "expected");
  expectError("memc-package 1\ndecode 128 2 contiguous\nprogram decode 1\n",
              "expected one 'program prefill <rows>'");
  expectError("memc-package 1\ndecode 128 2 contiguous\nprogram prefill 48\n"
              "program decode 1\n",
              "do not divide the capacity 128");
  expectError("memc-package 1\ndecode 128 2 contiguous\nprogram refill 4\n",
              "expected 'program prefill <rows>'");
  expectError(std::string(kContiguous) + "decode 128 2 contiguous\n",
              "duplicate 'decode' line");
  expectError(std::string(kContiguous) + "kv_dtype bf16\n",
              "expected 'kv_dtype f32'");
  expectError(std::string(kContiguous) + "arena_bytes 0\n",
              "unknown line kind 'arena_bytes'");
}

TEST(DecodeManifest, ProgramsListTheirCaches) {
  const char program[] = "memc-package 1\n"
                         "arena_bytes 0\n"
                         "input ids i64 2x1\n"
                         "input position i64 scalar\n"
                         "weight w f32 4 0 16\n"
                         "kv key.0 f32 8x128x16\n"
                         "kv value.0 f32 8x128x16\n"
                         "output logits f32 2x1x256\n";
  Manifest m, interface;
  std::string error;
  ASSERT_TRUE(parseManifest(program, "m", m, error)) << error;
  ASSERT_EQ(m.kvCaches.size(), 2u);
  EXPECT_EQ(m.kvCaches[1].name, "value.0");
  EXPECT_EQ(m.kvCaches[1].byteSize, 8u * 128u * 16u * 4u);
  ASSERT_TRUE(parseInterface("memc-interface 1\narena_bytes 0\n"
                             "host_pool_bytes 0\ninput ids i64 2x1\n"
                             "input position i64 scalar\nweight w f32 4\n"
                             "kv key.0 f32 8x128x16\nkv value.0 f32 8x64x16\n"
                             "output logits f32 2x1x256\n",
                             "i", interface, error))
      << error;
  EXPECT_FALSE(checkInterface(m, interface, "m", "model.so", error));
  EXPECT_NE(error.find("kv 'value.0' is f32 8x128x16"), std::string::npos)
      << error;
  // The top manifest of a decode package is no program's.
  EXPECT_FALSE(parseManifest(kContiguous, "pkg/manifest.txt", m, error));
  EXPECT_NE(error.find("run it with --generate"), std::string::npos) << error;
}
