//===- FuzzReplayMain.cpp - a fuzz target's inputs replayed without libFuzzer //
//
// `memc-package-fuzz-replay FILE...` feeds each file to the package fuzzer's
// LLVMFuzzerTestOneInput, so the inputs it once found (and its seeds) are
// replayed by every build's lit suite, not only under `make fuzz`. A broken
// contract aborts, as it does under libFuzzer.
//
//===----------------------------------------------------------------------===//
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
  int replayed = 0;
  for (int i = 1; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "memc-package-fuzz-replay: %s: cannot be read\n",
                   argv[i]);
      return 2;
    }
    std::string bytes((std::istreambuf_iterator<char>(in)),
                      std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t *>(bytes.data()),
                           bytes.size());
    ++replayed;
  }
  std::printf("replayed %d inputs\n", replayed);
  return 0;
}
