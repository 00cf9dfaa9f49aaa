//===- _memc.cpp - memc's Python runtime: packages on NumPy arrays --------===//
//
// The native half of the `memc` Python module (python/memc/__init__.py is
// the other): a CPU package loaded once (runtime/cpu's Package: manifest,
// weights.bin, model.so checked against its interface) and run on NumPy
// arrays. Inputs that are C-contiguous, of the manifest's dtype and shape
// and aligned as the program's arguments must be (64 bytes) are passed as
// they are; others are copied once into an aligned buffer. Outputs are
// NumPy arrays over aligned buffers the program writes into directly. The
// GIL is released while the program runs.
//
// A CUDA package runs on a GPU through runtime/cuda's C ABI (memc_cuda.h:
// libcuda and cuBLAS loaded at run time), the arrays copied to and from the
// device.
//
// A train package's session also keeps the optimizer states (zeroed at
// open) and the step count, and runs one step per train_step(batch), with
// the trainable weights updated in place (on the CPU in weights.bin's
// private mapping); its trained tensors can be read (state_dict), saved as
// a state file memc-run --resume reads, and written into the package's
// ONNX model.
//
//===----------------------------------------------------------------------===//
#include "CudaDecoder.h"
#include "CudaRunner.h"
#include "GenerateRunner.h"
#include "Package.h"
#include "memc/ExitCodes.h"
#include "memc/Runtime/InputFile.h"
#include "memc/Runtime/Manifest.h"
#include "memc/Runtime/PackageFormat.h"
#include "memc/Runtime/Tensor.h"
#include "memc/Runtime/TrainState.h"
#include "memc/Runtime/TrainedModel.h"
#include "memc_cuda.h"
#include "memc_runtime.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace py = pybind11;
using namespace memc;

namespace {

/// An error with memc's exit code (memc/ExitCodes.h), raised in Python as memc.Error's
/// subclass for that code (the `_memc.RuntimeFailure` the wrapper maps).
struct Failure : std::runtime_error {
  Failure(int code, const std::string &what)
      : std::runtime_error(what), code(code) {}
  int code;
};

/// NumPy's dtype for a manifest dtype (bf16 has none).
py::dtype dtypeOf(package::DType t) {
  static const char *const names[] = {
      "float32", "float64", "float16", nullptr,  "int8",   "int16", "int32",
      "int64",   "uint8",   "uint16",  "uint32", "uint64", "bool"};
  static_assert(sizeof(names) / sizeof(names[0]) == package::kNumDTypes);
  const char *name = names[size_t(t)];
  if (!name)
    throw Failure(ExitBadData, std::string("dtype ") + package::dtypeName(t) +
                                " has no NumPy equivalent");
  return py::dtype(name);
}

std::vector<py::ssize_t> shapeOf(const rt::TensorSpec &t) {
  return std::vector<py::ssize_t>(t.dims.begin(), t.dims.end());
}

py::tuple describe(const rt::TensorSpec &t) {
  return py::make_tuple(t.name, package::dtypeName(t.dtype),
                        py::tuple(py::cast(shapeOf(t))));
}

/// A NumPy array over a new zeroed aligned buffer that the array owns.
py::array alignedArray(const rt::TensorSpec &t) {
  auto *buffer = new rt::AlignedBuffer();
  if (!buffer->allocate(t.byteSize)) {
    delete buffer;
    throw Failure(ExitBadData, "cannot allocate " + std::to_string(t.byteSize) +
                                " bytes for '" + t.name + "'");
  }
  py::capsule owner(buffer, [](void *p) {
    delete static_cast<rt::AlignedBuffer *>(p);
  });
  return py::array(dtypeOf(t.dtype), shapeOf(t), buffer->data(), owner);
}

/// `value` as the program's argument for `t`: the array itself where its
/// dtype, shape, layout and alignment allow, else an aligned copy (kept in
/// `keep` for the call).
void *argumentFor(const rt::TensorSpec &t, py::handle value,
                  std::vector<py::array> &keep) {
  py::array a = py::array::ensure(value);
  if (!a)
    throw Failure(ExitBadData, "'" + t.name + "': not an array");
  py::dtype want = dtypeOf(t.dtype);
  if (!a.dtype().is(want) && !a.dtype().equal(want))
    throw Failure(ExitBadData, "'" + t.name + "': dtype " +
                                std::string(py::str(a.dtype())) +
                                ", the package takes " +
                                std::string(package::dtypeName(t.dtype)));
  std::vector<py::ssize_t> want_shape = shapeOf(t);
  std::vector<py::ssize_t> got(a.shape(), a.shape() + a.ndim());
  if (got != want_shape) {
    std::string s = "(";
    for (size_t i = 0; i < got.size(); ++i)
      s += (i ? ", " : "") + std::to_string(got[i]);
    throw Failure(ExitBadData, "'" + t.name + "': shape " + s +
                                "), the package takes " +
                                rt::formatDims(t.dims));
  }
  bool contiguous = a.flags() & py::array::c_style;
  bool aligned =
      reinterpret_cast<uintptr_t>(a.data()) % package::kArgumentAlignment == 0;
  if (contiguous && aligned) {
    keep.push_back(a);
    return const_cast<void *>(a.data());
  }
  py::array copy = alignedArray(t);
  std::memcpy(copy.mutable_data(),
              py::array::ensure(a, py::array::c_style).data(),
              size_t(t.byteSize));
  keep.push_back(copy);
  return copy.mutable_data();
}

/// Where a package's program runs: the CPU (runtime/cpu's Package, in this
/// process) or a GPU (runtime/cuda's memc_cuda.h session). Pointers are host
/// memory; the CUDA side copies them to and from the device.
class Device {
public:
  virtual ~Device() = default;
  virtual const rt::Manifest &manifest() const = 0;
  /// One call of the program: `inputs` (manifest order), `outputs` filled.
  /// A train package's step count is `t` (ignored otherwise).
  virtual void run(const std::vector<void *> &inputs,
                   const std::vector<void *> &outputs, int64_t t) = 0;
  /// The trained tensors (trainable weights, then states) into / from one
  /// host buffer each.
  virtual void readTrained(const std::vector<void *> &to) = 0;
  virtual void writeTrained(const std::vector<const void *> &from) = 0;
  virtual std::string name() const = 0;
};

class CpuDevice : public Device {
public:
  explicit CpuDevice(const std::string &dir) {
    std::string error;
    rt::Manifest peek;
    if (rt::readManifest(dir, peek, error) &&
        peek.target != package::kTargetCPU)
      throw Failure(ExitBadPackage, dir + ": compiled for the " + peek.target +
                                     " target; open it with device='cuda'");
    if (!pkg_.load(dir, error))
      throw Failure(ExitBadPackage, error);
    const rt::Manifest &m = pkg_.manifest();
    if (m.arenaBytes > 0 && !arena_.allocate(m.arenaBytes))
      throw Failure(ExitBadPackage, dir + ": cannot allocate the " +
                                     std::to_string(m.arenaBytes) +
                                     "-byte arena");
    if (m.hostPoolBytes > 0 && !hostPool_.allocate(m.hostPoolBytes))
      throw Failure(ExitBadPackage, dir + ": cannot allocate the " +
                                     std::to_string(m.hostPoolBytes) +
                                     "-byte host pool");
    states_.resize(m.states.size());
    for (size_t i = 0; i < m.states.size(); ++i)
      if (!states_[i].allocate(m.states[i].byteSize))
        throw Failure(ExitBadPackage, dir + ": cannot allocate the state '" +
                                       m.states[i].name + "'");
    if (m.step && !step_.allocate(m.step->byteSize))
      throw Failure(ExitBadPackage, dir + ": out of memory");
  }
  const rt::Manifest &manifest() const override { return pkg_.manifest(); }
  std::string name() const override { return "cpu"; }

  void run(const std::vector<void *> &inputs,
           const std::vector<void *> &outputs, int64_t t) override {
    // memc_entry's arguments: inputs, weights, states, step, outputs, then
    // arena and host pool.
    const rt::Manifest &m = manifest();
    std::vector<void *> call = inputs;
    for (size_t i = 0; i < m.weights.size(); ++i)
      call.push_back(pkg_.weightData(i));
    for (rt::AlignedBuffer &s : states_)
      call.push_back(s.data());
    if (m.step) {
      std::memcpy(step_.data(), &t, sizeof t);
      call.push_back(step_.data());
    }
    call.insert(call.end(), outputs.begin(), outputs.end());
    if (m.arenaBytes > 0)
      call.push_back(arena_.data());
    if (m.hostPoolBytes > 0)
      call.push_back(hostPool_.data());
    rt::EntryFn entry = pkg_.entry();
    py::gil_scoped_release release;
    entry(call.data());
  }

  void readTrained(const std::vector<void *> &to) override {
    std::vector<const void *> from = live();
    std::vector<const rt::TensorSpec *> specs =
        rt::trainStateTensors(manifest());
    for (size_t i = 0; i < specs.size(); ++i)
      std::memcpy(to[i], from[i], size_t(specs[i]->byteSize));
  }
  void writeTrained(const std::vector<const void *> &from) override {
    std::vector<const void *> to = live();
    std::vector<const rt::TensorSpec *> specs =
        rt::trainStateTensors(manifest());
    for (size_t i = 0; i < specs.size(); ++i)
      std::memcpy(const_cast<void *>(to[i]), from[i],
                  size_t(specs[i]->byteSize));
  }

private:
  /// The trained tensors where the program reads and writes them: the
  /// trainable weights in weights.bin's private mapping, the states here.
  std::vector<const void *> live() const {
    std::vector<const void *> data;
    const rt::Manifest &m = manifest();
    for (size_t i = 0; i < m.weights.size(); ++i)
      if (m.weights[i].trainable)
        data.push_back(pkg_.weightData(i));
    for (const rt::AlignedBuffer &s : states_)
      data.push_back(s.data());
    return data;
  }

  rt::Package pkg_;
  rt::AlignedBuffer arena_, hostPool_, step_;
  std::vector<rt::AlignedBuffer> states_;
};

class CudaDevice : public Device {
public:
  CudaDevice(const std::string &dir, int ordinal) {
    std::string error;
    if (!rt::readManifest(dir, manifest_, error))
      throw Failure(ExitBadPackage, error);
    if (manifest_.target != package::kTargetCUDA)
      throw Failure(ExitBadPackage, dir + ": compiled for the " +
                                     manifest_.target +
                                     " target; open it with device='cpu'");
    memc_cuda_status st = memc_cuda_open(dir.c_str(), ordinal, &session_);
    if (st != MEMC_CUDA_SUCCESS)
      throw Failure(cuda::exitCodeOf(st), memc_cuda_last_error());
  }
  ~CudaDevice() override { memc_cuda_close(session_); }
  const rt::Manifest &manifest() const override { return manifest_; }
  std::string name() const override {
    return std::string("cuda: ") + memc_cuda_device_name(session_);
  }

  void run(const std::vector<void *> &inputs,
           const std::vector<void *> &outputs, int64_t t) override {
    if (manifest_.isTrain())
      check(memc_cuda_set_step(session_, t));
    std::vector<const void *> in(inputs.begin(), inputs.end());
    memc_cuda_status st;
    {
      py::gil_scoped_release release;
      st = memc_cuda_run(session_, in.data(), outputs.data(), nullptr);
    }
    check(st);
  }
  void readTrained(const std::vector<void *> &to) override {
    check(memc_cuda_read_trained(session_, 0, to.data()));
  }
  void writeTrained(const std::vector<const void *> &from) override {
    check(memc_cuda_write_trained(session_, from.data()));
  }

private:
  void check(memc_cuda_status st) {
    if (st != MEMC_CUDA_SUCCESS)
      throw Failure(cuda::exitCodeOf(st), memc_cuda_last_error());
  }

  rt::Manifest manifest_;
  memc_cuda_session *session_ = nullptr;
};

class Session {
public:
  Session(const std::string &dir, const std::string &device) : dir_(dir) {
    if (device == "cpu")
      device_ = std::make_unique<CpuDevice>(dir);
    else if (device == "cuda" || device.rfind("cuda:", 0) == 0)
      device_ = std::make_unique<CudaDevice>(
          dir, device == "cuda" ? 0 : std::stoi(device.substr(5)));
    else
      throw Failure(ExitUsage, "device '" + device + "': want cpu, cuda or cuda:N");
  }

  const rt::Manifest &manifest() const { return device_->manifest(); }
  bool isTrain() const { return manifest().isTrain(); }
  int64_t steps() const { return steps_; }
  std::string device() const { return device_->name(); }

  py::list inputs() const { return specs(manifest().inputs); }
  py::list outputs() const { return specs(manifest().outputs); }

  /// The program on `args` (one per input, manifest order): the outputs.
  py::list run(const py::sequence &args) {
    if (isTrain())
      throw Failure(ExitBadPackage, dir_ + ": a train package: use train_step");
    std::vector<py::array> keep, outs;
    std::vector<void *> in = inputsOf(args, keep), out;
    for (const rt::TensorSpec &t : manifest().outputs) {
      outs.push_back(alignedArray(t));
      out.push_back(outs.back().mutable_data());
    }
    device_->run(in, out, 0);
    py::list result;
    for (py::array &o : outs)
      result.append(o);
    return result;
  }

  /// One train step on `batch` (the inputs, then the labels, as the
  /// manifest orders them): the loss.
  double trainStep(const py::sequence &batch) {
    if (!isTrain())
      throw Failure(ExitBadPackage,
                    dir_ + ": not a train package (memc --train)");
    std::vector<py::array> keep;
    std::vector<void *> in = inputsOf(batch, keep);
    py::array loss = alignedArray(manifest().outputs[0]);
    device_->run(in, {loss.mutable_data()}, steps_ + 1);
    ++steps_;
    float value = 0;
    std::memcpy(&value, loss.data(), sizeof value);
    return value;
  }

  /// The trained tensors (trainable weights, then optimizer states) by
  /// name.
  py::dict stateDict() {
    std::vector<py::array> arrays = trained();
    std::vector<const rt::TensorSpec *> specs =
        rt::trainStateTensors(manifest());
    py::dict d;
    for (size_t i = 0; i < specs.size(); ++i)
      d[py::str(specs[i]->name)] = arrays[i];
    return d;
  }

  /// memc-run --save-state's file: the run continues from it there.
  void saveState(const std::string &path) {
    std::vector<py::array> arrays = trained();
    std::vector<const void *> data;
    for (py::array &a : arrays)
      data.push_back(a.data());
    std::string error;
    if (!rt::writeTrainState(path, manifest(), uint64_t(steps_), data, error))
      throw Failure(ExitOutput, error);
  }

  /// memc-run --resume: the trained tensors and step count from `path`.
  void loadState(const std::string &path) {
    std::vector<py::array> arrays = trained();
    std::vector<void *> data;
    for (py::array &a : arrays)
      data.push_back(a.mutable_data());
    uint64_t steps = 0;
    std::string error;
    if (!rt::readTrainState(path, manifest(), data, steps, error))
      throw Failure(ExitBadState, error);
    std::vector<const void *> from(data.begin(), data.end());
    device_->writeTrained(from);
    steps_ = int64_t(steps);
  }

  /// The package's ONNX model with the trained weights, written to `path`
  /// (atomically), as memc-run --save-model.
  void saveModel(const std::string &path) {
    std::string error;
    rt::TrainedModel model;
    if (!model.load(rt::joinPath(dir_, package::kTrainModelFile), manifest(),
                    error))
      throw Failure(ExitBadPackage, error);
    std::vector<py::array> arrays = trained();
    std::vector<const void *> weights;
    std::vector<const rt::TensorSpec *> specs =
        rt::trainStateTensors(manifest());
    for (size_t i = 0; i < specs.size(); ++i)
      if (specs[i]->trainable)
        weights.push_back(arrays[i].data());
    if (!model.write(path, weights, error))
      throw Failure(ExitOutput, error);
  }

private:
  static py::list specs(const std::vector<rt::TensorSpec> &ts) {
    py::list l;
    for (const rt::TensorSpec &t : ts)
      l.append(describe(t));
    return l;
  }

  /// Copies of the trained tensors, read from the device.
  std::vector<py::array> trained() {
    if (!isTrain())
      throw Failure(ExitBadPackage,
                    dir_ + ": not a train package (memc --train)");
    std::vector<py::array> arrays;
    std::vector<void *> to;
    for (const rt::TensorSpec *t : rt::trainStateTensors(manifest())) {
      arrays.push_back(alignedArray(*t));
      to.push_back(arrays.back().mutable_data());
    }
    device_->readTrained(to);
    return arrays;
  }

  std::vector<void *> inputsOf(const py::sequence &args,
                               std::vector<py::array> &keep) const {
    const rt::Manifest &m = manifest();
    if (size_t(py::len(args)) != m.inputs.size())
      throw Failure(ExitBadData, "the package takes " +
                                  std::to_string(m.inputs.size()) +
                                  " inputs, got " +
                                  std::to_string(py::len(args)));
    std::vector<void *> call;
    for (size_t i = 0; i < m.inputs.size(); ++i)
      call.push_back(argumentFor(m.inputs[i], args[i], keep));
    return call;
  }

  std::string dir_;
  std::unique_ptr<Device> device_;
  int64_t steps_ = 0;
};

} // namespace

/// A decode package (memc --decode): greedy generation from prompts, on the
/// CPU or (a package compiled with --target=cuda) a GPU.
class Generator {
public:
  Generator(const std::string &dir, const std::string &device) {
    std::string error;
    int rc;
    if (device == "cpu") {
      cpu_ = std::make_unique<rt::Decoder>();
      rc = cpu_->open(dir, error);
    } else if (device == "cuda" || device.rfind("cuda:", 0) == 0) {
      gpu_ = std::make_unique<cuda::CudaDecoder>();
      rc = gpu_->open(dir, device == "cuda" ? 0 : std::stoi(device.substr(5)),
                      error);
    } else {
      throw Failure(ExitUsage,
                    "device '" + device + "': want cpu, cuda or cuda:N");
    }
    if (rc != ExitOK)
      throw Failure(rc, error);
  }
  const rt::DecodeManifest &manifest() const {
    return cpu_ ? cpu_->manifest() : gpu_->manifest();
  }
  int64_t capacity() const { return manifest().capacity; }
  int64_t batch() const { return manifest().batch; }
  std::string layout() const { return manifest().layout; }

  /// -> (tokens [batch, n] int64, prefill_ms, decode_ms_per_token, kv_bytes)
  py::tuple generate(py::object promptValue, int64_t n) {
    py::array a = py::array::ensure(promptValue, py::array::c_style);
    if (!a || a.dtype().kind() != 'i' || a.itemsize() != 8)
      throw Failure(ExitBadData, "the prompt must be an int64 array "
                                 "[batch, P]");
    rt::Tensor prompt;
    prompt.dtype = rt::DType::I64;
    prompt.dims.assign(a.shape(), a.shape() + a.ndim());
    if (!prompt.allocate())
      throw Failure(ExitBadData, "the prompt is too large");
    std::memcpy(prompt.buffer.data(), a.data(), size_t(a.nbytes()));
    rt::Generation g;
    std::string error;
    int rc;
    {
      py::gil_scoped_release release;
      rc = cpu_ ? cpu_->generate(prompt, "prompt", n, g, error)
                : gpu_->generate(prompt, "prompt", n, g, error);
    }
    if (rc != ExitOK)
      throw Failure(rc, error);
    py::array_t<int64_t> tokens({int64_t(g.tokens.size()), n});
    for (size_t b = 0; b < g.tokens.size(); ++b)
      std::memcpy(tokens.mutable_data(int64_t(b), 0), g.tokens[b].data(),
                  size_t(n) * sizeof(int64_t));
    return py::make_tuple(tokens, g.prefillMs, g.decodeMsPerToken, g.kvBytes);
  }

private:
  std::unique_ptr<rt::Decoder> cpu_;
  std::unique_ptr<cuda::CudaDecoder> gpu_;
};

PYBIND11_MODULE(_memc, m) {
  m.doc() = "memc's runtime: compiled packages run on NumPy arrays";
  static py::exception<Failure> failure(m, "RuntimeFailure");
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p)
        std::rethrow_exception(p);
    } catch (const Failure &e) {
      py::object error =
          py::reinterpret_borrow<py::object>(failure.ptr())(e.what());
      error.attr("code") = e.code;
      PyErr_SetObject(failure.ptr(), error.ptr());
    }
  });
  py::class_<Session>(m, "Session")
      .def(py::init<const std::string &, const std::string &>(),
           py::arg("package"), py::arg("device") = "cpu")
      .def_property_readonly("device", &Session::device)
      .def_property_readonly("inputs", &Session::inputs)
      .def_property_readonly("outputs", &Session::outputs)
      .def_property_readonly("is_train", &Session::isTrain)
      .def_property_readonly("steps", &Session::steps)
      .def("run", &Session::run, py::arg("inputs"))
      .def("train_step", &Session::trainStep, py::arg("batch"))
      .def("state_dict", &Session::stateDict)
      .def("save_state", &Session::saveState, py::arg("path"))
      .def("load_state", &Session::loadState, py::arg("path"))
      .def("save_model", &Session::saveModel, py::arg("path"));
  py::class_<Generator>(m, "Generator")
      .def(py::init<const std::string &, const std::string &>(),
           py::arg("package"), py::arg("device") = "cpu")
      .def_property_readonly("capacity", &Generator::capacity)
      .def_property_readonly("batch", &Generator::batch)
      .def_property_readonly("layout", &Generator::layout)
      .def("generate", &Generator::generate, py::arg("prompt"), py::arg("n"));
}
