//===- LineReaderTest.cpp - the versioned line reader ---------------------===//
//
// What manifest.txt and launch_plan.txt share: the header check, comment
// and blank-line skipping, CRLF tolerance, and errors that name the file
// and the line.
//
//===----------------------------------------------------------------------===//

#include "memc/Runtime/LineReader.h"

#include <gtest/gtest.h>

using namespace memc::rt;

namespace {

TEST(LineReader, RecordsSkipCommentsAndBlankLinesAndKeepLineNumbers) {
  LineReader in("magic 3\r\n\n# a comment\n  first a  b\r\n\t\nsecond\n",
                "dir/file.txt");
  std::string error;
  ASSERT_TRUE(in.readHeader("magic", 3, "thing", error)) << error;
  ASSERT_TRUE(in.next());
  EXPECT_EQ(in.lineNumber(), 4u);
  ASSERT_EQ(in.tokens().size(), 3u);
  EXPECT_EQ(in.tokens()[0], "first");
  EXPECT_EQ(in.tokens()[2], "b");
  EXPECT_EQ(in.line(), "  first a  b\r");
  ASSERT_TRUE(in.next());
  EXPECT_EQ(in.lineNumber(), 6u);
  EXPECT_EQ(in.tokens()[0], "second");
  EXPECT_FALSE(in.next());
  EXPECT_FALSE(in.next());
}

TEST(LineReader, FailNamesTheFileAndLine) {
  LineReader in("magic 1\nrecord\n", "f.txt");
  std::string error;
  ASSERT_TRUE(in.readHeader("magic", 1, "thing", error));
  ASSERT_TRUE(in.next());
  EXPECT_FALSE(in.fail("bad record", error));
  EXPECT_EQ(error, "f.txt:2: bad record");
  EXPECT_FALSE(in.fail("missing line", error, /*at=*/1));
  EXPECT_EQ(error, "f.txt:1: missing line");
}

TEST(LineReader, HeaderMustComeFirstWithTheVersion) {
  struct Case {
    const char *text, *error;
  } cases[] = {
      {"", "f.txt:1: not a memc thing (the first line must be 'magic 2')"},
      {"\nmagic 2\n",
       "f.txt:1: not a memc thing (the first line must be 'magic 2')"},
      {"# comment\nmagic 2\n",
       "f.txt:1: not a memc thing (the first line must be 'magic 2')"},
      {"other 2\n",
       "f.txt:1: not a memc thing (the first line must be 'magic 2')"},
      {"magic 2 extra\n",
       "f.txt:1: not a memc thing (the first line must be 'magic 2')"},
      {"magic 3\n", "f.txt:1: thing version '3' is not supported (this "
                    "runtime reads version 2)"},
      {"magic -2\n", "f.txt:1: thing version '-2' is not supported (this "
                     "runtime reads version 2)"},
  };
  for (const Case &c : cases) {
    LineReader in(c.text, "f.txt");
    std::string error;
    EXPECT_FALSE(in.readHeader("magic", 2, "thing", error)) << c.text;
    EXPECT_EQ(error, c.error) << c.text;
  }
}

} // namespace
