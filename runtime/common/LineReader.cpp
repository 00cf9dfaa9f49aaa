//===- LineReader.cpp - versioned line-oriented text files ----------------===//
#include "memc/Runtime/LineReader.h"

namespace memc {
namespace rt {

/// Splits on runs of spaces/tabs; a trailing '\r' (CRLF files) is dropped.
std::vector<std::string_view> tokenize(std::string_view line) {
  std::vector<std::string_view> tokens;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() &&
           (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
      ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' &&
           line[i] != '\r')
      ++i;
    if (i > start)
      tokens.push_back(line.substr(start, i - start));
  }
  return tokens;
}

/// Unsigned decimal, digits only, no overflow.
bool parseU64(std::string_view s, uint64_t &out) {
  if (s.empty() || s.size() > 20)
    return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9')
      return false;
    uint64_t d = uint64_t(c - '0');
    if (v > (UINT64_MAX - d) / 10)
      return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

bool LineReader::nextLine() {
  // The first line is read even from an empty text: a missing header is an
  // error at line 1, not an empty file.
  if (pos >= text.size() && lineNo > 0)
    return false;
  size_t eol = text.find('\n', pos);
  current = text.substr(
      pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
  pos = eol == std::string_view::npos ? text.size() : eol + 1;
  ++lineNo;
  tok = tokenize(current);
  return true;
}

bool LineReader::readHeader(std::string_view magic, uint64_t version,
                            std::string_view what, std::string &error) {
  nextLine();
  std::string want = std::string(magic) + " " + std::to_string(version);
  uint64_t found = 0;
  if (tok.size() != 2 || tok[0] != magic)
    return fail("not a memc " + std::string(what) +
                    " (the first line must be '" + want + "')",
                error);
  if (!parseU64(tok[1], found) || found != version)
    return fail(std::string(what) + " version '" + std::string(tok[1]) +
                    "' is not supported (this runtime reads version " +
                    std::to_string(version) + ")",
                error);
  return true;
}

bool LineReader::next() {
  while (nextLine())
    if (!tok.empty() && tok[0][0] != '#')
      return true;
  return false;
}

bool LineReader::fail(const std::string &what, std::string &error,
                      unsigned at) const {
  error = fileName + ":" + std::to_string(at ? at : lineNo) + ": " + what;
  return false;
}

} // namespace rt
} // namespace memc
