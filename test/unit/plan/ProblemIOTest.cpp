//===- ProblemIOTest.cpp - Text form of planning problems -----------------===//
//
// Round trips must be exact (dumped real-model instances are compared
// across runs), and every malformed input must fail naming its line rather
// than plan a different problem.
//
//===----------------------------------------------------------------------===//

#include "PlanTestUtil.h"

#include "memc/Plan/Generator.h"
#include "memc/Plan/ProblemIO.h"

#include <cstdio>
#include <fstream>

using namespace memc::plan;
using namespace memc::plan::test;

namespace {

void expectSameProblem(const Problem &a, const Problem &b) {
  ASSERT_EQ(a.buffers.size(), b.buffers.size());
  EXPECT_EQ(a.capacity, b.capacity);
  for (size_t i = 0; i < a.buffers.size(); ++i) {
    const Buffer &x = a.buffers[i], &y = b.buffers[i];
    EXPECT_EQ(x.id, y.id);
    EXPECT_EQ(x.size, y.size);
    EXPECT_EQ(x.alignment, y.alignment);
    EXPECT_EQ(x.start, y.start);
    EXPECT_EQ(x.end, y.end);
    EXPECT_EQ(x.uses, y.uses);
    EXPECT_EQ(x.transferCost, y.transferCost); // Bit for bit.
    EXPECT_EQ(x.kind, y.kind);
    EXPECT_EQ(x.producer, y.producer);
  }
}

/// The error of parsing `text`, which must fail.
std::string errorOf(const std::string &text) {
  Outcome<Problem> parsed = parseProblem(text);
  EXPECT_FALSE(parsed.ok()) << text;
  return parsed ? std::string() : parsed.error();
}

const char *kGood = "memc-plan-problem v1\n"
                    "capacity 0\n"
                    "buffers 1\n"
                    "buffer 7 100 64 0 3 activation 0.5 conv uses=0,3\n";

} // namespace

TEST(ProblemIO, GeneratedProblemsRoundTrip) {
  for (bool mixed : {false, true})
    for (GraphShape shape :
         {GraphShape::Forward, GraphShape::ForwardBackward}) {
      GeneratorOptions options;
      options.shape = shape;
      options.mixedAlignment = mixed;
      options.capacity = mixed ? 123456789 : 0;
      Problem p = generateProblem(11, options);
      std::string text = serializeProblem(p);
      Outcome<Problem> back = parseProblem(text);
      ASSERT_TRUE(back.ok()) << back.error();
      expectSameProblem(p, *back);
      EXPECT_EQ(serializeProblem(*back), text);
    }
}

TEST(ProblemIO, ProducersWithAnyBytesRoundTrip) {
  std::vector<std::string> names = {"",
                                    "-",
                                    "-leading dash",
                                    "fwd3:Conv.scratch",
                                    "/layers.0/self attn/MatMul_1",
                                    "100% sure",
                                    "tab\there\nnewline",
                                    "caf\xc3\xa9 \x7f",
                                    "uses=1,2"};
  std::vector<Buffer> buffers;
  for (size_t i = 0; i < names.size(); ++i) {
    Buffer b = makeBuffer(static_cast<int64_t>(i), 64 * (i + 1), 0, 2);
    b.producer = names[i];
    b.kind = i % 2 ? BufferKind::Temporary : BufferKind::Activation;
    b.transferCost = 0.1 * static_cast<double>(i) + 1e-300;
    buffers.push_back(b);
  }
  Problem p = makeProblem(buffers, 4096);
  std::string text = serializeProblem(p);
  // One line per buffer, whatever the names hold.
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'),
            static_cast<long>(3 + names.size()));
  Outcome<Problem> back = parseProblem(text);
  ASSERT_TRUE(back.ok()) << back.error();
  expectSameProblem(p, *back);
}

TEST(ProblemIO, CommentsBlankLinesAndCrlfAreAccepted) {
  std::string text = "# dumped by memc --emit=plan\r\n\r\n"
                     "memc-plan-problem v1\r\n"
                     "capacity 0\r\n  # a comment\r\n"
                     "buffers 2\r\n"
                     "buffer -3 0 1 5 5 temporary 0 - uses=\r\n"
                     "buffer 4 1 4096 0 9 activation 2e-3 x%20y uses=0,9\r\n";
  Outcome<Problem> p = parseProblem(text);
  ASSERT_TRUE(p.ok()) << p.error();
  ASSERT_EQ(p->buffers.size(), 2u);
  EXPECT_EQ(p->buffers[0].id, -3);
  EXPECT_TRUE(p->buffers[0].uses.empty());
  EXPECT_EQ(p->buffers[0].producer, "");
  EXPECT_EQ(p->buffers[1].producer, "x y");
  EXPECT_EQ(p->buffers[1].alignment, 4096u);
  EXPECT_DOUBLE_EQ(p->buffers[1].transferCost, 2e-3);
}

TEST(ProblemIO, MalformedInputNamesTheLine) {
  EXPECT_NE(errorOf("").find("line 1"), std::string::npos);
  EXPECT_NE(errorOf("memc-plan-problem v2\n").find("line 1: expected"),
            std::string::npos);
  std::string good = kGood;
  auto replaced = [&](const std::string &from, const std::string &to) {
    std::string text = good;
    text.replace(text.find(from), from.size(), to);
    return text;
  };
  EXPECT_NE(errorOf(replaced("capacity 0", "capacity -1")).find("line 2"),
            std::string::npos);
  EXPECT_NE(errorOf(replaced("buffers 1", "buffers 2")).find("truncated"),
            std::string::npos);
  EXPECT_NE(errorOf(replaced("buffers 1", "buffers 0")).find("line 4"),
            std::string::npos);
  for (auto [from, to] : std::vector<std::pair<std::string, std::string>>{
           {" 100 ", " 1x0 "},
           {" 100 ", " 99999999999999999999999 "},
           {" 64 ", " "},
           {" 7 ", " 9223372036854775808 "},
           {"activation", "weight"},
           {"0.5", "nan"},
           {"0.5", "inf"},
           {"conv", "co%2"},
           {"conv", "co%zz"},
           {"uses=0,3", "uses=0,,3"},
           {"uses=0,3", "uses=0,3,"},
           {"uses=0,3", "used=0,3"},
           {"uses=0,3", "uses=0,3 extra"}}) {
    std::string error = errorOf(replaced(from, to));
    EXPECT_NE(error.find("line 4: "), std::string::npos)
        << from << " -> " << to << ": " << error;
  }
  EXPECT_NE(errorOf(good + "weights 1\n").find("line 5: unknown record"),
            std::string::npos);
  EXPECT_NE(errorOf(replaced("capacity 0\n", "")).find("missing"),
            std::string::npos);
  std::string beforeCount = "memc-plan-problem v1\ncapacity 0\n"
                            "buffer 7 100 64 0 3 activation 0.5 c uses=\n";
  EXPECT_NE(errorOf(beforeCount).find("line 3"), std::string::npos);
}

TEST(ProblemIO, InvalidProblemsFailValidation) {
  std::string text = kGood;
  text.replace(text.find(" 0 3 "), 5, " 4 3 "); // start > end
  EXPECT_NE(errorOf(text).find("invalid problem"), std::string::npos);
  std::string twice = "memc-plan-problem v1\ncapacity 0\nbuffers 2\n"
                      "buffer 1 8 8 0 0 activation 0 a uses=\n"
                      "buffer 1 8 8 0 0 activation 0 b uses=\n";
  EXPECT_NE(errorOf(twice).find("duplicate id"), std::string::npos);
  std::string badAlign = kGood;
  badAlign.replace(badAlign.find(" 64 "), 4, " 48 ");
  EXPECT_NE(errorOf(badAlign).find("power of two"), std::string::npos);
  std::string badUse = kGood;
  badUse.replace(badUse.find("uses=0,3"), 8, "uses=0,4");
  EXPECT_NE(errorOf(badUse).find("outside"), std::string::npos);
}

TEST(ProblemIO, ReadsFilesAndNamesMissingOnes) {
  Outcome<Problem> missing = readProblemFile("/nonexistent/x.plan");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().find("/nonexistent/x.plan"), std::string::npos);

  std::string path = ::testing::TempDir() + "problemio_test.plan";
  {
    std::ofstream out(path);
    out << kGood;
  }
  Outcome<Problem> p = readProblemFile(path);
  ASSERT_TRUE(p.ok()) << p.error();
  EXPECT_EQ(p->buffers.at(0).id, 7);
  {
    std::ofstream out(path);
    out << "memc-plan-problem v1\ncapacity x\n";
  }
  Outcome<Problem> bad = readProblemFile(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find(path + ": line 2"), std::string::npos)
      << bad.error();
  std::remove(path.c_str());
}
