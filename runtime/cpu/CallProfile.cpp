//===- CallProfile.cpp - memc-run --profile on the CPU --------------------===//

#include "CallProfile.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <dlfcn.h>
#include <elf.h>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>

namespace memc {
namespace rt {
namespace {

/// What one timed call is counted under.
struct Site {
  const char *entry;
  const void *kernel;
  int64_t m, n, k;
  bool operator<(const Site &o) const {
    return std::tie(entry, kernel, m, n, k) <
           std::tie(o.entry, o.kernel, o.m, o.n, o.k);
  }
};

struct Totals {
  int64_t calls = 0;
  double ms = 0;
};

std::atomic<bool> gOn{false};
std::mutex gMutex;
std::atomic<std::thread::id> gThread;
std::map<Site, Totals> gSites;

/// Timed calls open on this thread: only the outermost is counted.
thread_local int tDepth = 0;

/// The functions of the ELF file `path` (its .symtab) by offset; empty
/// when it has none or cannot be read.
std::map<uint64_t, std::string> functionSymbols(const char *path) {
  std::map<uint64_t, std::string> byOffset;
  std::ifstream f(path, std::ios::binary);
  if (!f)
    return byOffset;
  f.seekg(0, std::ios::end);
  uint64_t size = uint64_t(f.tellg());
  auto read = [&](uint64_t at, void *to, uint64_t bytes) {
    if (at > size || bytes > size - at)
      return false;
    f.seekg(std::streamoff(at));
    return bool(f.read(static_cast<char *>(to), std::streamsize(bytes)));
  };
  Elf64_Ehdr eh;
  if (!read(0, &eh, sizeof eh) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      eh.e_shentsize != sizeof(Elf64_Shdr))
    return byOffset;
  std::vector<Elf64_Shdr> sections(eh.e_shnum);
  if (!read(eh.e_shoff, sections.data(), sections.size() * sizeof(Elf64_Shdr)))
    return byOffset;
  for (const Elf64_Shdr &s : sections) {
    if (s.sh_type != SHT_SYMTAB || s.sh_link >= sections.size() ||
        s.sh_entsize != sizeof(Elf64_Sym))
      continue;
    const Elf64_Shdr &names = sections[s.sh_link];
    std::vector<Elf64_Sym> symbols(s.sh_size / sizeof(Elf64_Sym));
    std::string text(names.sh_size, '\0');
    if (!read(s.sh_offset, symbols.data(),
              symbols.size() * sizeof(Elf64_Sym)) ||
        !read(names.sh_offset, text.data(), text.size()))
      return byOffset;
    for (const Elf64_Sym &sym : symbols)
      if (ELF64_ST_TYPE(sym.st_info) == STT_FUNC && sym.st_name < text.size())
        byOffset.emplace(sym.st_value, text.c_str() + sym.st_name);
  }
  return byOffset;
}

/// The files' function symbols (functionSymbols), each file read once.
using SymbolFiles = std::map<std::string, std::map<uint64_t, std::string>>;

/// A generated kernel's name: its symbol without the "__trampoline" of the
/// wrapper memc_rt_parallel_for is handed, or FILE+0xOFFSET.
std::string kernelName(const void *kernel, SymbolFiles &files) {
  Dl_info info;
  if (!dladdr(kernel, &info) || !info.dli_fname)
    return "?";
  uint64_t offset = uint64_t(static_cast<const char *>(kernel) -
                             static_cast<const char *>(info.dli_fbase));
  std::string name;
  if (info.dli_sname && info.dli_saddr == kernel) {
    name = info.dli_sname;
  } else {
    auto file = files.find(info.dli_fname);
    if (file == files.end())
      file =
          files.emplace(info.dli_fname, functionSymbols(info.dli_fname)).first;
    auto symbol = file->second.find(offset);
    if (symbol != file->second.end())
      name = symbol->second;
  }
  const std::string suffix = "__trampoline";
  if (name.size() > suffix.size() &&
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
    name.resize(name.size() - suffix.size());
  if (!name.empty())
    return name;
  std::string file = info.dli_fname;
  char hex[32];
  std::snprintf(hex, sizeof hex, "+0x%llx", (unsigned long long)offset);
  return file.substr(file.find_last_of('/') + 1) + hex;
}

} // namespace

void startCallProfile() {
  std::lock_guard<std::mutex> lock(gMutex);
  gSites.clear();
  gThread = std::this_thread::get_id();
  gOn.store(true, std::memory_order_release);
}

std::vector<ProfileEntry> stopCallProfile() {
  gOn.store(false, std::memory_order_release);
  std::lock_guard<std::mutex> lock(gMutex);
  std::vector<ProfileEntry> entries;
  SymbolFiles files;
  for (const auto &[site, totals] : gSites) {
    std::string what;
    if (site.kernel) {
      what = "parallel_for " + kernelName(site.kernel, files);
    } else {
      what = site.entry;
      if (site.m || site.n || site.k)
        what += " m " + std::to_string(site.m) + " n " +
                std::to_string(site.n) + " k " + std::to_string(site.k);
    }
    entries.push_back({std::move(what), totals.calls, totals.ms});
  }
  gSites.clear();
  std::stable_sort(
      entries.begin(), entries.end(),
      [](const ProfileEntry &a, const ProfileEntry &b) { return a.ms > b.ms; });
  return entries;
}

std::string formatCallProfile(const std::vector<ProfileEntry> &entries,
                              int64_t runs, double totalMs, int top) {
  runs = std::max<int64_t>(runs, 1);
  double perRun = totalMs / double(runs), inCalls = 0;
  int64_t calls = 0;
  for (const ProfileEntry &e : entries) {
    inCalls += e.ms / double(runs);
    calls += e.calls;
  }
  char buf[256];
  std::string text = "profile_runs: " + std::to_string(runs) + "\n";
  std::snprintf(buf, sizeof buf,
                "profile_ms_per_run: %.3f (runtime calls %.1f: %.3f ms; "
                "outside them %.3f ms)\n",
                perRun, double(calls) / double(runs), inCalls,
                std::max(0.0, perRun - inCalls));
  text += buf;
  size_t shown =
      top > 0 ? std::min(entries.size(), size_t(top)) : entries.size();
  for (size_t i = 0; i < shown; ++i) {
    const ProfileEntry &e = entries[i];
    double ms = e.ms / double(runs);
    std::snprintf(buf, sizeof buf, "profile: %5.1f%% %10.3f ms %6.1f/run ",
                  perRun > 0 ? 100.0 * ms / perRun : 0.0, ms,
                  double(e.calls) / double(runs));
    text += buf + e.what + "\n";
  }
  return text;
}

ProfiledCall::ProfiledCall(const char *entry, int64_t m, int64_t n, int64_t k)
    : entry_(entry), m_(m), n_(n), k_(k) {
  if (gOn.load(std::memory_order_acquire))
    begin();
}

ProfiledCall::ProfiledCall(const void *kernel) : kernel_(kernel) {
  if (gOn.load(std::memory_order_acquire))
    begin();
}

void ProfiledCall::begin() {
  if (std::this_thread::get_id() != gThread)
    return;
  entered_ = true;
  timed_ = tDepth++ == 0;
  if (timed_)
    start_ = std::chrono::steady_clock::now();
}

ProfiledCall::~ProfiledCall() {
  if (!entered_)
    return;
  --tDepth;
  if (!timed_)
    return;
  double ms = std::chrono::duration<double, std::milli>(
                  std::chrono::steady_clock::now() - start_)
                  .count();
  std::lock_guard<std::mutex> lock(gMutex);
  Totals &t = gSites[{entry_, kernel_, m_, n_, k_}];
  ++t.calls;
  t.ms += ms;
}

} // namespace rt
} // namespace memc
