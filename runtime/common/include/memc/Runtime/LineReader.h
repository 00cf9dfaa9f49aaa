//===- LineReader.h - versioned line-oriented text files --------*- C++ -*-===//
//
// manifest.txt and the CUDA launch_plan.txt share their shape: a first line
// `<magic> <version>`, then one record per line, blank lines and `#`
// comments allowed, and every error naming the file and line. This reader
// does that part once; the parsers only look at records. The tokenizer and
// the number and quoting helpers below are the records' vocabulary.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_RUNTIME_LINEREADER_H
#define MEMC_RUNTIME_LINEREADER_H

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace memc {
namespace rt {

/// Splits a line on runs of spaces and tabs; '\r' counts as a space (CRLF
/// files).
std::vector<std::string_view> tokenize(std::string_view line);

/// Unsigned decimal: digits only (no sign, no spaces), at most UINT64_MAX.
bool parseU64(std::string_view s, uint64_t &out);

/// `s` in single quotes, as errors cite a token.
std::string quoted(std::string_view s);

class LineReader {
public:
  LineReader(std::string_view text, std::string fileName)
      : text(text), fileName(std::move(fileName)) {}

  /// Reads the first line, which must be `magic version`. On failure sets
  /// `error` ("FILE:1: not a memc <what> ..." or "... <what> version 'X' is
  /// not supported ...") and returns false.
  bool readHeader(std::string_view magic, uint64_t version,
                  std::string_view what, std::string &error);

  /// Moves to the next record (skipping blank and comment lines); false at
  /// the end of the text.
  bool next();

  /// The current record: its whole text, its tokens (tokenize(): never
  /// empty for a record) and its 1-based line number.
  std::string_view line() const { return current; }
  const std::vector<std::string_view> &tokens() const { return tok; }
  unsigned lineNumber() const { return lineNo; }

  /// Sets `error` to "FILE:LINE: what" for line `at` (the current one by
  /// default) and returns false.
  bool fail(const std::string &what, std::string &error, unsigned at = 0) const;

private:
  /// The next physical line, tokenized; false at the end of the text.
  bool nextLine();

  std::string_view text;
  std::string fileName;
  size_t pos = 0;
  unsigned lineNo = 0;
  std::string_view current;
  std::vector<std::string_view> tok;
};

} // namespace rt
} // namespace memc

#endif // MEMC_RUNTIME_LINEREADER_H
