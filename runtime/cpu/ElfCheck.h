//===- ElfCheck.h - Is model.so safe to hand to dlopen? ---------*- C++ -*-===//
//
// dlopen trusts the file: it maps every PT_LOAD segment as the program
// headers say, and a segment that extends past the end of a truncated file
// is mapped anyway, so the first touch of its missing pages is SIGBUS.
// Random bytes may not even get as far as that. checkSharedObject reads the
// ELF structures the loader relies on and checks them against the file size
// first, so a damaged model.so is a one-line error instead of a signal.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_RUNTIME_CPU_ELFCHECK_H
#define MEMC_RUNTIME_CPU_ELFCHECK_H

#include <string>

namespace memc {
namespace rt {

class InputFile;

/// Checks that the open file `f` is an ELF shared object for this host
/// (class, byte order, machine) whose header, program headers, PT_LOAD
/// segments, section header table and dynamic section all lie within the
/// file, and whose dynamic section's addresses lie within loaded segments.
/// On failure returns false with `error` = "<path>: <what>".
bool checkSharedObject(InputFile &f, std::string &error);

} // namespace rt
} // namespace memc

#endif // MEMC_RUNTIME_CPU_ELFCHECK_H
