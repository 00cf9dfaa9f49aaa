//===- TrainStateTest.cpp - state files, --save-model, whole-file writes --===//
//
// What memc-run --train writes and reads back without running a program:
// the state file (round trip, and every kind of damage or mismatch found
// before a byte is copied), the trained ONNX model (built here with the
// onnx classes), and that a failed write leaves nothing behind.
//
//===----------------------------------------------------------------------===//

#include "memc/Runtime/TrainState.h"
#include "memc/Runtime/OutputFile.h"
#include "memc/Runtime/TrainedModel.h"

#include <onnx/onnx_pb.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace memc::rt;

namespace {

/// A fresh directory, removed (with its plain files) at scope exit.
class TempDir {
public:
  TempDir() {
    const char *tmp = std::getenv("TMPDIR");
    std::string tmpl =
        std::string(tmp && *tmp ? tmp : "/tmp") + "/memc-state-test-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    char *made = ::mkdtemp(buf.data());
    EXPECT_NE(made, nullptr);
    path_ = made ? made : "/nonexistent";
  }
  ~TempDir() {
    for (const std::string &f : files())
      ::unlink((path_ + "/" + f).c_str());
    ::rmdir(path_.c_str());
  }
  std::string operator/(const std::string &name) const {
    return path_ + "/" + name;
  }
  /// The names in the directory.
  std::vector<std::string> files() const {
    std::vector<std::string> names;
    if (DIR *d = ::opendir(path_.c_str())) {
      while (dirent *e = ::readdir(d))
        if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, ".."))
          names.push_back(e->d_name);
      ::closedir(d);
    }
    return names;
  }

private:
  std::string path_;
};

std::string readAll(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void writeAll(const std::string &path, const std::string &bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), std::streamsize(bytes.size()));
}

Manifest parseOrDie(const std::string &text) {
  Manifest m;
  std::string error;
  EXPECT_TRUE(parseManifest(text, "manifest.txt", m, error)) << error;
  return m;
}

const char kManifest[] = "memc-package 1\n"
                         "train mse adamw:lr=0.01\n"
                         "input x f32 4x2\n"
                         "input labels f32 4\n"
                         "weight w f32 2 0 8 trainable\n"
                         "weight frozen f32 2 64 8\n"
                         "weight b f32 scalar 128 4 trainable\n"
                         "state w.m f32 2 w\n"
                         "state b.m f32 scalar b\n"
                         "step step i64 scalar\n"
                         "output loss f32 scalar\n";

/// Buffers for kManifest's state: w, b, w.m, b.m.
struct Values {
  float w[2] = {1.5f, -2.25f}, b = 0.125f, wm[2] = {0.5f, 0.25f}, bm = -1;
  std::vector<const void *> in() const { return {w, &b, wm, &bm}; }
  std::vector<void *> out() { return {w, &b, wm, &bm}; }
};

/// Writes kManifest's state (`steps` done) to `path`.
void saveState(const std::string &path, uint64_t steps = 7) {
  Values v;
  std::string error;
  ASSERT_TRUE(
      writeTrainState(path, parseOrDie(kManifest), steps, v.in(), error))
      << error;
}

/// readTrainState of `path` against `manifest`: "" or the error.
std::string load(const std::string &path, const std::string &manifest,
                 Values &v, uint64_t &steps) {
  std::string error;
  Manifest m = parseOrDie(manifest);
  // Another manifest may have other tensors: those beyond Values' read into
  // scratch (only on success, which such a manifest must not reach).
  alignas(64) static char scratch[4096];
  std::vector<void *> out = v.out();
  out.resize(trainStateTensors(m).size(), scratch);
  if (readTrainState(path, m, out, steps, error))
    return "";
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  EXPECT_EQ(error.rfind(path + ": ", 0), 0u) << error;
  return error.substr(std::min(error.size(), path.size() + 2));
}

bool starts(const std::string &s, const std::string &prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

} // namespace

TEST(TrainState, RoundTrip) {
  TempDir tmp;
  std::string path = tmp / "state";
  saveState(path, 7);
  std::string bytes = readAll(path);
  EXPECT_TRUE(starts(bytes, "memc-train-state 1\nsteps 7 tensors 4 "
                            "fingerprint "))
      << bytes.substr(0, 60);
  Values v;
  std::memset(&v, 0, sizeof v);
  uint64_t steps = 0;
  EXPECT_EQ(load(path, kManifest, v, steps), "");
  EXPECT_EQ(steps, 7u);
  EXPECT_EQ(v.w[1], -2.25f);
  EXPECT_EQ(v.b, 0.125f);
  EXPECT_EQ(v.wm[0], 0.5f);
  EXPECT_EQ(v.bm, -1.0f);
  // Only the final file: no temporary is left.
  EXPECT_EQ(tmp.files(), std::vector<std::string>{"state"});
}

TEST(TrainState, FileLayout) {
  TempDir tmp;
  std::string path = tmp / "state";
  saveState(path, 3);
  std::string bytes = readAll(path);
  size_t header = bytes.find('\n', bytes.find('\n') + 1) + 1;
  // Records: name length, name, byte size, bytes; then the checksum.
  size_t expected =
      header + (16 + 1 + 8) + (16 + 1 + 4) + (16 + 3 + 8) + (16 + 3 + 4) + 8;
  ASSERT_EQ(bytes.size(), expected);
  uint64_t len = 0, size = 0;
  std::memcpy(&len, bytes.data() + header, 8);
  std::memcpy(&size, bytes.data() + header + 9, 8);
  EXPECT_EQ(len, 1u);
  EXPECT_EQ(bytes[header + 8], 'w');
  EXPECT_EQ(size, 8u);
  uint64_t sum = 0;
  std::memcpy(&sum, bytes.data() + bytes.size() - 8, 8);
  EXPECT_EQ(sum, fnv1a64(bytes.data(), bytes.size() - 8));
  // FNV-1a 64's published test vectors.
  EXPECT_EQ(fnv1a64("", 0), 0xcbf29ce484222325ull);
  EXPECT_EQ(fnv1a64("a", 1), 0xaf63dc4c8601ec8cull);
}

TEST(TrainState, DamageIsFoundBeforeAnythingIsCopied) {
  TempDir tmp;
  std::string path = tmp / "state";
  saveState(path);
  std::string good = readAll(path);
  uint64_t steps = 0;
  auto tryBytes = [&](const std::string &bytes) {
    writeAll(path, bytes);
    Values v;
    std::memset(&v, 0, sizeof v);
    std::string e = load(path, kManifest, v, steps);
    if (!e.empty())
      EXPECT_EQ(v.w[0], 0.0f) << "copied before the check: " << e;
    return e;
  };
  EXPECT_EQ(tryBytes(good), "");

  // Truncated anywhere.
  for (size_t cut : {good.size() - 1, good.size() - 9, good.size() / 2})
    EXPECT_TRUE(starts(tryBytes(good.substr(0, cut)), "truncated ("))
        << cut << ": " << tryBytes(good.substr(0, cut));
  EXPECT_TRUE(starts(tryBytes(good.substr(0, 25)), "truncated (it ends in"))
      << tryBytes(good.substr(0, 25));
  EXPECT_TRUE(starts(tryBytes(""), "not a memc train state file"));
  // A byte flipped in the data, in a name, in the checksum.
  for (size_t at : {good.size() - 20, good.size() - 3,
                    good.find('\n', good.find('\n') + 1) + 9}) {
    std::string bad = good;
    bad[at] ^= 0x10;
    std::string e = tryBytes(bad);
    EXPECT_TRUE(e == "checksum mismatch (the file is corrupt)" ||
                starts(e, "was saved from a different package: it holds"))
        << at << ": " << e;
  }
  std::string bad = good;
  bad[good.size() - 20] ^= 1;
  EXPECT_EQ(tryBytes(bad), "checksum mismatch (the file is corrupt)");
  EXPECT_TRUE(starts(tryBytes(good + "x"), "corrupt: "))
      << tryBytes(good + "x");
  // Header lines.
  EXPECT_EQ(tryBytes("memc-train-state 2\n" + good.substr(19)),
            "state file version '2' is not supported (this memc-run reads "
            "version 1)");
  EXPECT_TRUE(starts(tryBytes("PK\x03\x04 a zip file"),
                     "not a memc train state file (the first line must be "
                     "'memc-train-state 1')"));
  std::string header = good;
  header.replace(header.find("steps 7"), 7, "steps x");
  EXPECT_TRUE(starts(tryBytes(header), "corrupt: its second line is not"))
      << tryBytes(header);
  // No file at all.
  Values v;
  EXPECT_TRUE(starts(load(tmp / "missing", kManifest, v, steps),
                     "cannot open: no such file"));
}

TEST(TrainState, AnotherPackageIsToldApartFromDamage) {
  TempDir tmp;
  std::string path = tmp / "state";
  saveState(path);
  Values v;
  uint64_t steps = 0;
  auto from = [&](const std::string &edit, const std::string &to) {
    std::string text = kManifest;
    text.replace(text.find(edit), edit.size(), to);
    return load(path, text, v, steps);
  };
  const std::string prefix = "was saved from a different package: ";
  EXPECT_EQ(from("weight w f32 2 0 8", "weight w f32 3 0 12"),
            prefix + "it holds 'w' (8 bytes) where this package has 'w' (12 "
                     "bytes)");
  EXPECT_EQ(from("state b.m f32 scalar b\n", ""),
            prefix + "it holds 4 trainable weights and states, this package "
                     "3");
  EXPECT_EQ(from("state w.m f32 2 w\nstate b.m f32 scalar b\n",
                 "state b.m f32 scalar b\nstate w.m f32 2 w\n"),
            prefix + "it holds 'w.m' (8 bytes) where this package has 'b.m' (4 "
                     "bytes)");
  std::string e = from("adamw:lr=0.01", "adamw:lr=0.02");
  EXPECT_TRUE(starts(e, prefix + "its fingerprint ")) << e;
  EXPECT_NE(e.find("another loss, optimizer, hyperparameter"),
            std::string::npos)
      << e;
  // A frozen weight is not part of the state.
  EXPECT_EQ(from("weight frozen f32 2 64 8", "weight frozen f32 4 64 16"), "");
}

TEST(TrainState, FingerprintCoversTheTrainingLayout) {
  uint64_t base = trainStateFingerprint(parseOrDie(kManifest));
  auto with = [&](const std::string &edit, const std::string &to) {
    std::string text = kManifest;
    text.replace(text.find(edit), edit.size(), to);
    return trainStateFingerprint(parseOrDie(text));
  };
  EXPECT_NE(with("train mse", "train cross-entropy"), base);
  EXPECT_NE(with("state w.m f32 2 w", "state w.v f32 2 w"), base);
  EXPECT_NE(with("weight b f32 scalar 128 4", "weight b f32 1 128 4"), base);
  EXPECT_EQ(with("input x f32 4x2", "input x f32 8x2"), base); // batch size
  EXPECT_EQ(with("weight w f32 2 0 8", "weight w f32 2 192 8"), base);
}

TEST(OutputFile, NothingIsLeftOnFailure) {
  TempDir tmp;
  std::string error;
  {
    OutputFile f;
    ASSERT_TRUE(f.open(tmp / "out", error)) << error;
    f.write("abc", 3);
    EXPECT_EQ(tmp.files().size(), 1u); // the temporary
  }                                    // not committed: removed
  EXPECT_TRUE(tmp.files().empty());
  OutputFile f;
  EXPECT_FALSE(f.open(tmp / "no/such/dir/out", error));
  EXPECT_EQ(error.rfind(tmp / "no/such/dir/out: cannot write: ", 0), 0u)
      << error;
  // Committing onto a directory fails and removes the temporary.
  ASSERT_EQ(::mkdir((tmp / "dir").c_str(), 0755), 0);
  ASSERT_TRUE(f.open(tmp / "dir", error)) << error;
  f.write("abc", 3);
  EXPECT_FALSE(f.commit(error));
  EXPECT_EQ(error.rfind(tmp / "dir: cannot write: ", 0), 0u) << error;
  EXPECT_EQ(tmp.files(), std::vector<std::string>{"dir"});
  ::rmdir((tmp / "dir").c_str());

  EXPECT_TRUE(checkWritable(tmp / "x", error)) << error;
  EXPECT_FALSE(checkWritable(tmp / "nodir/x", error));
  EXPECT_NE(error.find("no such directory"), std::string::npos) << error;
  EXPECT_FALSE(checkWritable(tmp / ".", error));
  EXPECT_NE(error.find("is a directory"), std::string::npos) << error;
  // A file name without a directory is in the working directory.
  EXPECT_TRUE(checkWritable("relative-name", error)) << error;
}

//===----------------------------------------------------------------------===//
// --save-model
//===----------------------------------------------------------------------===//

namespace {

using onnx::TensorProto;

TensorProto floats(const std::string &name, std::vector<int64_t> dims,
                   std::vector<float> values, bool raw) {
  TensorProto t;
  t.set_name(name);
  t.set_data_type(TensorProto::FLOAT);
  for (int64_t d : dims)
    t.add_dims(d);
  if (raw)
    t.set_raw_data(values.data(), values.size() * 4);
  else
    for (float v : values)
      t.add_float_data(v);
  return t;
}

/// y = x * w + b over initializers "w" (2, as float_data), " b" (scalar,
/// raw, a name with a space: the manifest's "_b") and "frozen" (2).
void writeModel(const std::string &path) {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(17);
  model.set_producer_name("memc-test");
  onnx::GraphProto *g = model.mutable_graph();
  g->set_name("g");
  *g->add_initializer() = floats("w", {2}, {1, 2}, false);
  *g->add_initializer() = floats(" b", {}, {3}, true);
  TensorProto frozen = floats("frozen", {2}, {0, 0}, true);
  // External data on a frozen initializer is kept as it is.
  frozen.clear_raw_data();
  frozen.set_data_location(TensorProto::EXTERNAL);
  auto *entry = frozen.add_external_data();
  entry->set_key("location");
  entry->set_value("weights.data");
  *g->add_initializer() = frozen;
  onnx::NodeProto *n = g->add_node();
  n->set_op_type("Mul");
  n->add_input("x");
  n->add_input("w");
  n->add_output("y");
  std::string bytes;
  ASSERT_TRUE(model.SerializeToString(&bytes));
  writeAll(path, bytes);
}

const char kModelManifest[] = "memc-package 1\n"
                              "train output:y sgd\n"
                              "input x f32 2\n"
                              "weight w f32 2 0 8 trainable\n"
                              "weight _b f32 scalar 64 4 trainable\n"
                              "weight frozen f32 2 128 8\n"
                              "step step i64 scalar\n"
                              "output loss f32 scalar\n";

} // namespace

TEST(TrainedModel, ReplacesTheTrainableInitializers) {
  TempDir tmp;
  writeModel(tmp / "model.onnx");
  Manifest m = parseOrDie(kModelManifest);
  TrainedModel model;
  std::string error;
  ASSERT_TRUE(model.load(tmp / "model.onnx", m, error)) << error;
  float w[2] = {10.5f, -20}, b = 0.25f;
  ASSERT_TRUE(model.write(tmp / "out.onnx", {w, &b}, error)) << error;

  onnx::ModelProto out;
  std::string bytes = readAll(tmp / "out.onnx");
  ASSERT_TRUE(out.ParseFromString(bytes));
  EXPECT_EQ(out.producer_name(), "memc-test");
  ASSERT_EQ(out.graph().initializer_size(), 3);
  ASSERT_EQ(out.graph().node_size(), 1);
  const TensorProto &tw = out.graph().initializer(0);
  EXPECT_EQ(tw.name(), "w");
  EXPECT_EQ(tw.data_type(), TensorProto::FLOAT);
  EXPECT_EQ(tw.dims_size(), 1);
  EXPECT_EQ(tw.float_data_size(), 0);
  ASSERT_EQ(tw.raw_data().size(), 8u);
  EXPECT_EQ(std::memcmp(tw.raw_data().data(), w, 8), 0);
  const TensorProto &tb = out.graph().initializer(1);
  EXPECT_EQ(tb.name(), " b");
  EXPECT_EQ(tb.dims_size(), 0);
  EXPECT_EQ(std::memcmp(tb.raw_data().data(), &b, 4), 0);
  const TensorProto &tf = out.graph().initializer(2);
  EXPECT_EQ(tf.data_location(), TensorProto::EXTERNAL);
  EXPECT_EQ(tf.external_data_size(), 1);
  std::vector<std::string> files = tmp.files();
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, (std::vector<std::string>{"model.onnx", "out.onnx"}));
}

TEST(TrainedModel, ExternalDataOfATrainableWeightIsReplaced) {
  TempDir tmp;
  onnx::ModelProto model;
  TensorProto w = floats("w", {2}, {0, 0}, false);
  w.clear_float_data();
  w.set_data_location(TensorProto::EXTERNAL);
  auto *e = w.add_external_data();
  e->set_key("location");
  e->set_value("w.bin");
  *model.mutable_graph()->add_initializer() = w;
  *model.mutable_graph()->add_initializer() = floats("_b", {}, {1}, true);
  std::string bytes;
  ASSERT_TRUE(model.SerializeToString(&bytes));
  writeAll(tmp / "model.onnx", bytes);
  Manifest m = parseOrDie(kModelManifest);
  TrainedModel tm;
  std::string error;
  ASSERT_TRUE(tm.load(tmp / "model.onnx", m, error)) << error;
  float wv[2] = {1, 2}, b = 3;
  ASSERT_TRUE(tm.write(tmp / "out.onnx", {wv, &b}, error)) << error;
  onnx::ModelProto out;
  ASSERT_TRUE(out.ParseFromString(readAll(tmp / "out.onnx")));
  EXPECT_EQ(out.graph().initializer(0).data_location(), TensorProto::DEFAULT);
  EXPECT_EQ(out.graph().initializer(0).external_data_size(), 0);
  EXPECT_EQ(out.graph().initializer(0).raw_data().size(), 8u);
}

TEST(TrainedModel, ErrorsNameTheFile) {
  TempDir tmp;
  Manifest m = parseOrDie(kModelManifest);
  TrainedModel model;
  std::string error;
  EXPECT_FALSE(model.load(tmp / "model.onnx", m, error));
  EXPECT_EQ(error, tmp / "model.onnx" + ": cannot open: no such file");
  writeAll(tmp / "model.onnx", "not a protobuf at all \xff\xff\xff");
  EXPECT_FALSE(model.load(tmp / "model.onnx", m, error));
  EXPECT_NE(error.find("not an ONNX model"), std::string::npos) << error;

  writeModel(tmp / "model.onnx");
  std::string text = kModelManifest;
  text.replace(text.find("weight w f32 2 0 8"), 18, "weight w f32 1x2 0 8");
  Manifest other = parseOrDie(text);
  EXPECT_FALSE(model.load(tmp / "model.onnx", other, error));
  EXPECT_NE(error.find("initializer 'w' is not the package's trainable "
                       "weight 'w' (f32 1x2"),
            std::string::npos)
      << error;
  text = kModelManifest;
  text.replace(text.find("weight w "), 9, "weight v ");
  Manifest renamed = parseOrDie(text);
  EXPECT_FALSE(model.load(tmp / "model.onnx", renamed, error));
  EXPECT_EQ(error, tmp / "model.onnx" +
                       ": has no initializer 'v' (a trainable weight of the "
                       "package); the package is damaged");

  ASSERT_TRUE(model.load(tmp / "model.onnx", m, error)) << error;
  float w[2] = {}, b = 0;
  EXPECT_FALSE(model.write(tmp / "missing/out.onnx", {w, &b}, error));
  EXPECT_EQ(error.rfind(tmp / "missing/out.onnx: cannot write: ", 0), 0u)
      << error;
}
