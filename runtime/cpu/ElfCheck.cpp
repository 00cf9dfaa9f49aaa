//===- ElfCheck.cpp - Is model.so safe to hand to dlopen? -----------------===//
//
// Only the native ELF class is accepted (ElfW: 64-bit on 64-bit hosts): a
// package for another class or machine could not be loaded anyway, and
// saying so names the real problem instead of dlerror's "wrong ELF class".
// The checks follow what glibc's loader reads, in its order: the ELF header,
// the program headers, the PT_LOAD segments it maps, then the dynamic
// section and the tables it points to.
//
//===----------------------------------------------------------------------===//

#include "ElfCheck.h"

#include "memc/Runtime/InputFile.h"

#include <cstring>
#include <elf.h>
#include <link.h>
#include <vector>

namespace memc {
namespace rt {

namespace {

using Ehdr = ElfW(Ehdr);
using Phdr = ElfW(Phdr);
using Dyn = ElfW(Dyn);

#if defined(__x86_64__)
constexpr int kHostMachine = EM_X86_64;
#elif defined(__aarch64__)
constexpr int kHostMachine = EM_AARCH64;
#elif defined(__riscv)
constexpr int kHostMachine = EM_RISCV;
#elif defined(__powerpc64__)
constexpr int kHostMachine = EM_PPC64;
#elif defined(__s390x__)
constexpr int kHostMachine = EM_S390;
#else
constexpr int kHostMachine = -1; // unknown here: left to dlopen
#endif

constexpr unsigned char kHostClass =
    sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32;
constexpr unsigned char kHostData =
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB : ELFDATA2MSB;

/// A dynamic section larger than this is not one a compiler wrote.
constexpr uint64_t kMaxDynamicBytes = 1 << 20;

/// [offset, offset + size) within [0, limit), without overflow.
bool within(uint64_t offset, uint64_t size, uint64_t limit) {
  return offset <= limit && size <= limit - offset;
}

std::string range(uint64_t offset, uint64_t size) {
  return "bytes " + std::to_string(offset) + ".." +
         std::to_string(offset + size);
}

const char *machineName(int machine) {
  switch (machine) {
  case EM_X86_64:
    return "x86-64";
  case EM_386:
    return "i386";
  case EM_AARCH64:
    return "AArch64";
  case EM_ARM:
    return "ARM";
  case EM_RISCV:
    return "RISC-V";
  case EM_PPC64:
    return "PowerPC64";
  case EM_S390:
    return "s390";
  default:
    return nullptr;
  }
}

std::string describeMachine(int machine) {
  const char *name = machineName(machine);
  return name ? std::string(name) : "machine " + std::to_string(machine);
}

} // namespace

bool checkSharedObject(InputFile &f, std::string &error) {
  const std::string &path = f.path();
  uint64_t size = f.size();
  auto fail = [&](const std::string &what) {
    error = path + ": " + what;
    return false;
  };
  auto truncated = [&](const std::string &what, uint64_t offset,
                       uint64_t bytes) {
    return fail("truncated or damaged: " + what + " (" + range(offset, bytes) +
                ") lies past the end of the file (" + std::to_string(size) +
                " bytes); recompile the package");
  };

  unsigned char ident[EI_NIDENT] = {};
  if (size < SELFMAG)
    return fail("not an ELF shared object (" + std::to_string(size) +
                " bytes)");
  if (!f.readAt(0, ident, SELFMAG, error))
    return false;
  if (std::memcmp(ident, ELFMAG, SELFMAG) != 0)
    return fail("not an ELF shared object (no ELF magic number)");
  if (size < sizeof(Ehdr))
    return truncated("the ELF header", 0, sizeof(Ehdr));
  Ehdr eh;
  if (!f.readAt(0, &eh, sizeof eh, error))
    return false;
  if (eh.e_ident[EI_CLASS] != kHostClass)
    return fail(std::string("is a ") +
                (eh.e_ident[EI_CLASS] == ELFCLASS32   ? "32-bit"
                 : eh.e_ident[EI_CLASS] == ELFCLASS64 ? "64-bit"
                                                      : "damaged") +
                " ELF file; this host loads " +
                (kHostClass == ELFCLASS64 ? "64-bit" : "32-bit") + " ones");
  if (eh.e_ident[EI_DATA] != kHostData)
    return fail("is an ELF file of the other byte order than this host's");
  if (eh.e_ident[EI_VERSION] != EV_CURRENT || eh.e_version != EV_CURRENT)
    return fail("damaged ELF header (unknown ELF version)");
  if (eh.e_type != ET_DYN)
    return fail("is an ELF file but not a shared object (type " +
                std::to_string(eh.e_type) + ")");
  if (kHostMachine >= 0 && eh.e_machine != kHostMachine)
    return fail("was compiled for " + describeMachine(eh.e_machine) +
                ", this host is " + describeMachine(kHostMachine) +
                "; compile the model on (or for) this machine");
  if (eh.e_ehsize < sizeof(Ehdr))
    return fail("damaged ELF header (header size " +
                std::to_string(eh.e_ehsize) + ")");

  // Program headers: what the loader maps.
  if (eh.e_phentsize != sizeof(Phdr) || eh.e_phnum == 0 ||
      eh.e_phnum >= PN_XNUM)
    return fail("damaged ELF header (" + std::to_string(eh.e_phnum) +
                " program headers of " + std::to_string(eh.e_phentsize) +
                " bytes)");
  uint64_t phBytes = uint64_t(eh.e_phnum) * sizeof(Phdr);
  if (!within(eh.e_phoff, phBytes, size))
    return truncated("the program header table", eh.e_phoff, phBytes);
  std::vector<Phdr> ph(eh.e_phnum);
  if (!f.readAt(eh.e_phoff, ph.data(), phBytes, error))
    return false;

  std::vector<const Phdr *> loads;
  const Phdr *dynamic = nullptr;
  for (size_t i = 0; i < ph.size(); ++i) {
    const Phdr &p = ph[i];
    if (p.p_type == PT_LOAD) {
      if (p.p_filesz > p.p_memsz)
        return fail("damaged: segment " + std::to_string(i) + " has " +
                    std::to_string(p.p_filesz) + " file bytes but " +
                    std::to_string(p.p_memsz) + " in memory");
      if (!within(p.p_offset, p.p_filesz, size))
        return truncated("segment " + std::to_string(i), p.p_offset,
                         p.p_filesz);
      if (p.p_vaddr + p.p_memsz < p.p_vaddr)
        return fail("damaged: segment " + std::to_string(i) +
                    " wraps around the address space");
      loads.push_back(&p);
    } else if (p.p_type == PT_DYNAMIC) {
      dynamic = &p;
    }
  }
  // The section header table is the last thing a linker writes: a file cut
  // short by even a few bytes loses it, though dlopen never reads it.
  if (eh.e_shnum != 0 || eh.e_shoff != 0) {
    uint64_t shBytes = uint64_t(eh.e_shnum) * eh.e_shentsize;
    if (!within(eh.e_shoff, shBytes, size))
      return truncated("the section header table", eh.e_shoff, shBytes);
  }
  if (loads.empty())
    return fail("damaged: no loadable segment");
  if (!dynamic)
    return fail("damaged: no dynamic section (a shared object exports its "
                "symbols through it)");
  if (!within(dynamic->p_offset, dynamic->p_filesz, size))
    return truncated("the dynamic section", dynamic->p_offset,
                     dynamic->p_filesz);
  if (dynamic->p_filesz > kMaxDynamicBytes || dynamic->p_filesz < sizeof(Dyn))
    return fail("damaged: a dynamic section of " +
                std::to_string(dynamic->p_filesz) + " bytes");

  // Addresses in the dynamic section are virtual addresses; each table must
  // lie in one loaded segment, or the loader reads unmapped memory.
  auto inLoad = [&](uint64_t addr, uint64_t bytes) {
    for (const Phdr *p : loads)
      if (addr >= p->p_vaddr && within(addr - p->p_vaddr, bytes, p->p_memsz))
        return true;
    return false;
  };
  std::vector<Dyn> dyn(dynamic->p_filesz / sizeof(Dyn));
  if (!f.readAt(dynamic->p_offset, dyn.data(), dyn.size() * sizeof(Dyn), error))
    return false;
  auto value = [&](int64_t tag, uint64_t &out) {
    for (const Dyn &d : dyn) {
      if (d.d_tag == DT_NULL)
        break;
      if (d.d_tag == tag) {
        out = d.d_un.d_val;
        return true;
      }
    }
    return false;
  };
  struct Table {
    int64_t addrTag, sizeTag;
    const char *name;
  };
  static const Table kTables[] = {
      {DT_STRTAB, DT_STRSZ, "string table"},
      {DT_SYMTAB, DT_NULL, "symbol table"},
      {DT_HASH, DT_NULL, "hash table"},
      {DT_GNU_HASH, DT_NULL, "GNU hash table"},
      {DT_RELA, DT_RELASZ, "relocations"},
      {DT_REL, DT_RELSZ, "relocations"},
      {DT_JMPREL, DT_PLTRELSZ, "PLT relocations"},
      {DT_INIT_ARRAY, DT_INIT_ARRAYSZ, "initializer array"},
      {DT_FINI_ARRAY, DT_FINI_ARRAYSZ, "finalizer array"},
      {DT_PREINIT_ARRAY, DT_PREINIT_ARRAYSZ, "pre-initializer array"},
      {DT_INIT, DT_NULL, "initializer"},
      {DT_FINI, DT_NULL, "finalizer"},
      {DT_VERSYM, DT_NULL, "symbol versions"},
      {DT_VERNEED, DT_NULL, "version needs"},
      {DT_VERDEF, DT_NULL, "version definitions"},
  };
  bool haveStrtab = false, haveSymtab = false;
  for (const Table &t : kTables) {
    uint64_t addr = 0, bytes = 1;
    if (!value(t.addrTag, addr))
      continue;
    if (t.sizeTag != DT_NULL && !value(t.sizeTag, bytes))
      bytes = 0;
    if (!inLoad(addr, bytes))
      return fail(std::string("damaged: the dynamic section's ") + t.name +
                  " (address " + std::to_string(addr) + ", " +
                  std::to_string(bytes) +
                  " bytes) lies outside every loaded segment");
    haveStrtab |= t.addrTag == DT_STRTAB;
    haveSymtab |= t.addrTag == DT_SYMTAB;
  }
  if (!haveStrtab || !haveSymtab)
    return fail("damaged: the dynamic section has no symbol or string table");
  return true;
}

} // namespace rt
} // namespace memc
