//===- ProblemIO.h - Text form of planning problems -------------*- C++ -*-===//
//
// Problems travel between the compiler and the planner's tools as text:
// `memc --emit=plan` dumps the instance of a real model, the mapper's trainer
// and the bench read such dumps (test/plan-corpus/*.plan) next to generated
// ones. A line format keeps the dumps diffable in review and editable by
// hand when a test needs a tweaked instance.
//
// The format, one record per line ('#' starts a comment line, blank lines
// are ignored):
//
//   memc-plan-problem v1
//   capacity <bytes>
//   buffers <count>
//   buffer <id> <size> <alignment> <start> <end> <kind> <transferCost>
//          <producer> uses=<step>,<step>,...
//
// (one line per buffer, in problem order). <kind> is "activation" or
// "temporary"; <transferCost> is printed with 17 significant digits so it
// reads back bit for bit; "uses=" with nothing after it means no explicit
// uses. <producer> is one token: bytes outside printable ASCII, space, '%'
// and a leading '-' are written as %XX, and an empty name as "-". Op names
// such as "fwd3:Conv.scratch" or "/layers.0/attn/MatMul" stay readable.
// The `buffers` count makes a truncated file an error rather than a smaller
// problem.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_PLAN_PROBLEMIO_H
#define MEMC_PLAN_PROBLEMIO_H

#include "memc/Plan/Problem.h"

#include <string>
#include <vector>

namespace memc::plan {

/// The text form of `problem` (see the file comment); parseProblem reads it
/// back to an equal Problem.
std::string serializeProblem(const Problem &problem);

/// Reads the text form. Fails with one message naming the line ("line 7:
/// ...") on a syntax error, or with validateProblem's first complaint when
/// the problem is well-formed text but not valid planner input.
Outcome<Problem> parseProblem(const std::string &text);

/// parseProblem on a file's contents; failures name the file.
Outcome<Problem> readProblemFile(const std::string &path);

/// The names (not paths) of the `*.plan` files in `dir`, sorted; none when
/// the directory does not exist.
std::vector<std::string> listProblemFiles(const std::string &dir);

/// The corpus split that memc-mapper-train and the bench share: the file at
/// `index` of listProblemFiles is held out of training when it is every
/// third one (indices 2, 5, 8, ...).
bool isHeldOutCorpusFile(size_t index);

} // namespace memc::plan

#endif // MEMC_PLAN_PROBLEMIO_H
