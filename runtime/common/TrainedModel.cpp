//===- TrainedModel.cpp - memc-run --save-model ---------------------------===//
//
// Only the trainable weights' initializers change: everything else of the
// model (graph, opsets, metadata, frozen initializers) is written back as
// it was read. The value goes in raw_data, ONNX's own little-endian layout,
// which is the bytes of the program's buffer.
//
//===----------------------------------------------------------------------===//

#include "memc/Runtime/TrainedModel.h"

#include "memc/Runtime/InputFile.h"
#include "memc/Runtime/LineReader.h"
#include "memc/Runtime/OutputFile.h"
#include "memc/Runtime/TensorIO.h"

#include <onnx/onnx_pb.h>

#include <cctype>
#include <climits>

namespace memc {
namespace rt {

std::string manifestName(const std::string &onnxName) {
  std::string s = onnxName;
  for (char &c : s)
    if (std::isspace(static_cast<unsigned char>(c)))
      c = '_';
  return s.empty() ? "_" : s;
}

TrainedModel::TrainedModel() = default;
TrainedModel::~TrainedModel() = default;

bool TrainedModel::load(const std::string &path, const Manifest &m,
                        std::string &error) {
  model_.reset();
  targets_.clear();
  auto fail = [&](const std::string &what) {
    error = path + ": " + what;
    model_.reset();
    targets_.clear();
    return false;
  };
  std::string bytes;
  // protobuf parses at most INT_MAX bytes.
  if (!readSmallFile(path, uint64_t(INT_MAX), bytes, error))
    return false;
  auto model = std::make_unique<onnx::ModelProto>();
  if (!model->ParseFromArray(bytes.data(), int(bytes.size())) ||
      !model->has_graph())
    return fail("not an ONNX model (a truncated or corrupt protobuf); the "
                "package is damaged");
  model_ = std::move(model);
  const onnx::GraphProto &graph = model_->graph();
  for (const TensorSpec &w : m.weights) {
    if (!w.trainable)
      continue;
    Target target;
    target.bytes = w.byteSize;
    for (int i = 0; i < graph.initializer_size(); ++i) {
      const onnx::TensorProto &init = graph.initializer(i);
      if (manifestName(init.name()) != w.name)
        continue;
      std::vector<int64_t> dims(init.dims().begin(), init.dims().end());
      if (init.data_type() != onnxDataType(w.dtype) || dims != w.dims)
        return fail("initializer " + quoted(init.name()) +
                    " is not the package's trainable weight " + quoted(w.name) +
                    " (" + dtypeName(w.dtype) + " " + formatDims(w.dims) +
                    ", ONNX data_type " +
                    std::to_string(onnxDataType(w.dtype)) +
                    "); got data_type " + std::to_string(init.data_type()) +
                    " dims " + formatDims(dims) + "; the package is damaged");
      target.initializers.push_back(i);
    }
    if (target.initializers.empty())
      return fail("has no initializer " + quoted(w.name) +
                  " (a trainable weight of the package); the package is "
                  "damaged");
    targets_.push_back(std::move(target));
  }
  return true;
}

bool TrainedModel::write(const std::string &outPath,
                         const std::vector<const void *> &data,
                         std::string &error) {
  if (!model_ || data.size() != targets_.size()) {
    error = outPath + ": internal: the model is not loaded or " +
            std::to_string(data.size()) + " buffers for " +
            std::to_string(targets_.size()) + " trainable weights";
    return false;
  }
  onnx::GraphProto *graph = model_->mutable_graph();
  for (size_t i = 0; i < targets_.size(); ++i)
    for (int index : targets_[i].initializers) {
      onnx::TensorProto *t = graph->mutable_initializer(index);
      t->clear_float_data();
      t->clear_double_data();
      t->clear_int32_data();
      t->clear_int64_data();
      t->clear_uint64_data();
      t->clear_external_data();
      t->clear_data_location(); // DEFAULT: the value is in this message
      t->set_raw_data(data[i], size_t(targets_[i].bytes));
    }
  if (model_->ByteSizeLong() > size_t(INT_MAX)) {
    error = outPath + ": cannot write: the trained model is larger than "
                      "2 GiB (protobuf's limit)";
    return false;
  }
  std::string bytes;
  if (!model_->SerializeToString(&bytes)) {
    error = outPath + ": cannot serialize the model";
    return false;
  }
  OutputFile out;
  if (!out.open(outPath, error))
    return false;
  out.write(bytes.data(), bytes.size());
  return out.commit(error);
}

} // namespace rt
} // namespace memc
