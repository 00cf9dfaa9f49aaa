# lit configuration for memc: FileCheck tests of memc-opt and memc, and
# end-to-end tests that compile and run models.
import os

import lit.formats
from lit.llvm import llvm_config

config.name = "memc"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.memc_obj_root, "test")

config.environment["PATH"] = os.environ.get("PATH", "/usr/bin:/bin")
llvm_config.use_default_substitutions()
config.substitutions.append(("%python", config.python))
config.substitutions.append(("%testdata", "/usr/share/libonnx-testdata/data"))
config.substitutions.append(("%inputs", os.path.join(config.test_source_root, "Inputs")))
config.substitutions.append(("%memc_obj_root", config.memc_obj_root))
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", os.path.join(config.memc_obj_root, "bin"),
                             append_path=True)
tools = ["memc", "memc-opt", "memc-run", "memc-package-fuzz-replay", "FileCheck", "not",
         "count"]
llvm_config.add_tool_substitutions(
    tools, [os.path.join(config.memc_obj_root, "bin"), config.llvm_tools_dir])

# A sanitizer build (make sanitize): libraries loaded into uninstrumented
# hosts (the plugin into the stock mlir-opt, the Python module into
# /usr/bin/python3) cannot run there; those tests are UNSUPPORTED: asan.
if "-fsanitize=address" in getattr(config, "cxx_flags", ""):
    config.available_features.add("asan")

# Tests that read x86 code (objdump of a model.so built for a named CPU).
import platform
if platform.machine() in ("x86_64", "AMD64"):
    config.available_features.add("x86_64")

# The stock mlir-opt with memc's plugin (tools/memc-plugin).
config.substitutions.append(("%mlir_opt", os.path.join(config.llvm_tools_dir, "mlir-opt")))
config.substitutions.append(
    ("%memc_plugin", os.path.join(config.memc_obj_root, "lib", "libMemcPlugin.so")))

# --target=cuda: PTX is checked by ptxas where the CUDA toolkit is installed
# (memc itself never needs it).
import shutil
if shutil.which("ptxas") or os.access("/usr/local/cuda/bin/ptxas", os.X_OK):
    config.available_features.add("ptxas")
    config.substitutions.append(
        ("%ptxas", shutil.which("ptxas") or "/usr/local/cuda/bin/ptxas"))

# The unit tests' fake libcuda/libcublas (test/unit/runtime-cuda), with which
# a CUDA package runs on the CPU: kernels from --cuda-host-kernels.
fakes = os.path.join(config.memc_obj_root, "test", "unit", "runtime-cuda", "fakes")
config.substitutions.append(("%fake_libcuda", os.path.join(fakes, "libmemc_fake_cuda.so")))
config.substitutions.append(("%fake_libcublas", os.path.join(fakes, "libmemc_fake_cublas.so")))
config.substitutions.append(("%fake_libcusolver", os.path.join(fakes, "libmemc_fake_cusolver.so")))
