//===- ProblemIO.cpp - Text form of planning problems ---------------------===//
//
// Strict on input: every number must be all digits and in range, every line
// must have exactly its fields, so that a dump damaged in transit fails with
// the line that shows it instead of planning a different problem.
//
//===----------------------------------------------------------------------===//

#include "memc/Plan/ProblemIO.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <limits>
#include <sstream>
#include <vector>

namespace memc::plan {
namespace {

constexpr const char *kHeader = "memc-plan-problem v1";

bool isPlainProducerByte(unsigned char c, bool first) {
  if (c <= 0x20 || c >= 0x7f || c == '%')
    return false;
  // A leading '-' would be confused with the empty name's "-".
  return !(first && c == '-');
}

std::string encodeProducer(const std::string &name) {
  if (name.empty())
    return "-";
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (size_t i = 0; i < name.size(); ++i) {
    auto c = static_cast<unsigned char>(name[i]);
    if (isPlainProducerByte(c, i == 0)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

bool decodeProducer(const std::string &token, std::string &name) {
  name.clear();
  if (token == "-")
    return true;
  for (size_t i = 0; i < token.size(); ++i) {
    if (token[i] != '%') {
      name += token[i];
      continue;
    }
    if (i + 2 >= token.size())
      return false;
    int hi = hexValue(token[i + 1]), lo = hexValue(token[i + 2]);
    if (hi < 0 || lo < 0)
      return false;
    name += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

bool allDigits(const std::string &s) {
  if (s.empty())
    return false;
  for (char c : s)
    if (c < '0' || c > '9')
      return false;
  return true;
}

bool parseU64(const std::string &s, uint64_t &value) {
  if (!allDigits(s))
    return false;
  errno = 0;
  unsigned long long v = std::strtoull(s.c_str(), nullptr, 10);
  if (errno == ERANGE)
    return false;
  value = v;
  return true;
}

bool parseI64(const std::string &s, int64_t &value) {
  bool negative = !s.empty() && s[0] == '-';
  uint64_t magnitude = 0;
  if (!parseU64(negative ? s.substr(1) : s, magnitude))
    return false;
  constexpr uint64_t kMax = std::numeric_limits<int64_t>::max();
  if (magnitude > kMax + (negative ? 1 : 0))
    return false;
  value = negative ? static_cast<int64_t>(0 - magnitude)
                   : static_cast<int64_t>(magnitude);
  return true;
}

bool parseDouble(const std::string &s, double &value) {
  if (s.empty())
    return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' ||
          c == '+' || c == '-'))
      return false; // No "inf", "nan" or hex floats.
  char *end = nullptr;
  errno = 0;
  value = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && errno != ERANGE && std::isfinite(value);
}

std::vector<std::string> splitWords(const std::string &line) {
  std::vector<std::string> words;
  std::istringstream in(line);
  for (std::string word; in >> word;)
    words.push_back(word);
  return words;
}

std::string formatDouble(double value) {
  char text[64];
  std::snprintf(text, sizeof text, "%.17g", value);
  return text;
}

/// One buffer line's fields after the "buffer" keyword, or a reason.
std::string parseBufferFields(const std::vector<std::string> &w, Buffer &b) {
  if (w.size() != 10)
    return "a buffer line has 10 fields (buffer id size alignment start end "
           "kind transferCost producer uses=...), this one has " +
           std::to_string(w.size());
  if (!parseI64(w[1], b.id))
    return "bad id '" + w[1] + "'";
  if (!parseU64(w[2], b.size))
    return "bad size '" + w[2] + "'";
  if (!parseU64(w[3], b.alignment))
    return "bad alignment '" + w[3] + "'";
  if (!parseI64(w[4], b.start))
    return "bad start step '" + w[4] + "'";
  if (!parseI64(w[5], b.end))
    return "bad end step '" + w[5] + "'";
  if (w[6] == "activation")
    b.kind = BufferKind::Activation;
  else if (w[6] == "temporary")
    b.kind = BufferKind::Temporary;
  else
    return "kind '" + w[6] + "' is neither activation nor temporary";
  if (!parseDouble(w[7], b.transferCost))
    return "bad transfer cost '" + w[7] + "'";
  if (!decodeProducer(w[8], b.producer))
    return "bad %-escape in producer '" + w[8] + "'";
  const std::string &uses = w[9];
  if (uses.compare(0, 5, "uses=") != 0)
    return "the last field must be uses=<steps>, not '" + uses + "'";
  b.uses.clear();
  std::string list = uses.substr(5);
  size_t from = 0;
  while (from < list.size()) {
    size_t comma = list.find(',', from);
    std::string item = list.substr(
        from, comma == std::string::npos ? std::string::npos : comma - from);
    int64_t step = 0;
    if (!parseI64(item, step))
      return "bad use step '" + item + "'";
    b.uses.push_back(step);
    if (comma == std::string::npos)
      break;
    from = comma + 1;
    if (from == list.size())
      return "trailing ',' in uses";
  }
  return "";
}

} // namespace

std::string serializeProblem(const Problem &problem) {
  std::ostringstream out;
  out << kHeader << "\n";
  out << "capacity " << problem.capacity << "\n";
  out << "buffers " << problem.buffers.size() << "\n";
  for (const Buffer &b : problem.buffers) {
    out << "buffer " << b.id << ' ' << b.size << ' ' << b.alignment << ' '
        << b.start << ' ' << b.end << ' ' << toString(b.kind) << ' '
        << formatDouble(b.transferCost) << ' ' << encodeProducer(b.producer)
        << " uses=";
    for (size_t i = 0; i < b.uses.size(); ++i)
      out << (i ? "," : "") << b.uses[i];
    out << "\n";
  }
  return out.str();
}

Outcome<Problem> parseProblem(const std::string &text) {
  Problem problem;
  std::istringstream in(text);
  std::string line;
  int lineNo = 0;
  bool sawHeader = false, sawCapacity = false;
  int64_t expected = -1;
  auto fail = [&](const std::string &why) {
    return Outcome<Problem>::failure("line " + std::to_string(lineNo) + ": " +
                                     why);
  };
  while (std::getline(in, line)) {
    ++lineNo;
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    std::vector<std::string> words = splitWords(line);
    if (words.empty() || words[0][0] == '#')
      continue;
    if (!sawHeader) {
      if (words.size() != 2 || words[0] + " " + words[1] != kHeader)
        return fail("expected the header '" + std::string(kHeader) + "'");
      sawHeader = true;
      continue;
    }
    const std::string &key = words[0];
    if (key == "capacity") {
      if (sawCapacity || words.size() != 2 ||
          !parseU64(words[1], problem.capacity))
        return fail("expected one 'capacity <bytes>' line");
      sawCapacity = true;
    } else if (key == "buffers") {
      uint64_t count = 0;
      if (expected >= 0 || words.size() != 2 || !parseU64(words[1], count) ||
          count > (uint64_t(1) << 40))
        return fail("expected one 'buffers <count>' line");
      expected = static_cast<int64_t>(count);
    } else if (key == "buffer") {
      if (expected < 0)
        return fail("'buffers <count>' must come before the buffers");
      Buffer b;
      std::string why = parseBufferFields(words, b);
      if (!why.empty())
        return fail(why);
      problem.buffers.push_back(std::move(b));
      if (static_cast<int64_t>(problem.buffers.size()) > expected)
        return fail("more buffers than the " + std::to_string(expected) +
                    " announced");
    } else {
      return fail("unknown record '" + key + "'");
    }
  }
  if (!sawHeader)
    return Outcome<Problem>::failure(
        "line 1: empty input, expected the header '" + std::string(kHeader) +
        "'");
  if (!sawCapacity || expected < 0)
    return fail("missing the 'capacity' or 'buffers' line");
  if (static_cast<int64_t>(problem.buffers.size()) != expected)
    return fail("end of input after " + std::to_string(problem.buffers.size()) +
                " of " + std::to_string(expected) + " buffers (truncated?)");
  std::vector<std::string> errors = validateProblem(problem);
  if (!errors.empty())
    return Outcome<Problem>::failure("invalid problem: " + errors.front());
  return problem;
}

Outcome<Problem> readProblemFile(const std::string &path) {
  std::ifstream file(path, std::ios::binary);
  if (!file)
    return Outcome<Problem>::failure(path + ": cannot open");
  std::ostringstream contents;
  contents << file.rdbuf();
  if (file.bad())
    return Outcome<Problem>::failure(path + ": read error");
  Outcome<Problem> problem = parseProblem(contents.str());
  if (!problem)
    return Outcome<Problem>::failure(path + ": " + problem.error());
  return problem;
}

std::vector<std::string> listProblemFiles(const std::string &dir) {
  std::vector<std::string> names;
  if (DIR *d = opendir(dir.c_str())) {
    while (dirent *entry = readdir(d)) {
      std::string name = entry->d_name;
      if (name.size() > 5 && name.compare(name.size() - 5, 5, ".plan") == 0)
        names.push_back(name);
    }
    closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool isHeldOutCorpusFile(size_t index) { return index % 3 == 2; }

} // namespace memc::plan
