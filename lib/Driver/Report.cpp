//===- Report.cpp - memc --report=FILE.json -------------------------------===//
#include "Report.h"

#include "memc/Plan/Problem.h"

#include <set>

using namespace llvm;

namespace memc {

namespace {

/// An op's label without its op name: "/blocks.0/up/Add" of
/// "/blocks.0/up/Add (linalg.generic)", so a tensor op and the loop it
/// became name the same thing.
std::string opLabel(const std::string &described) {
  size_t paren = described.rfind(" (");
  return paren == std::string::npos ? described : described.substr(0, paren);
}

} // namespace

json::Object buildReport(const ReportContext &context,
                         const ArenaPlanRecord &record) {
  const plan::Problem &problem = record.problem;
  const plan::Plan &plan = record.plan;
  json::Object heuristics;
  for (const auto &[name, bytes] : record.heuristics)
    heuristics[name] = static_cast<int64_t>(bytes);

  json::Array buffers;
  for (size_t i = 0; i < problem.buffers.size(); ++i) {
    const plan::Buffer &b = problem.buffers[i];
    const plan::Placement &p = plan.placements[i];
    json::Array uses;
    for (int64_t s : b.uses)
      uses.push_back(s);
    json::Object entry{
        {"id", b.id},
        {"producer", b.producer},
        {"type", record.bufferTypes[i]},
        {"kind", plan::toString(b.kind)},
        {"size", static_cast<int64_t>(b.size)},
        {"start", b.start},
        {"end", b.end},
        {"uses", std::move(uses)},
    };
    if (i < record.recomputed.size() && record.recomputed[i])
      entry["recomputed"] = true;
    if (i < record.swappedIn.size() && record.swappedIn[i])
      entry["swapped_in"] = true;
    if (p.location == plan::Location::Arena) {
      entry["location"] = "arena";
      entry["offset"] = static_cast<int64_t>(p.offset);
    } else {
      entry["location"] = "host";
      entry["host_offset"] = static_cast<int64_t>(record.hostOffsets[i]);
      entry["transfer_ms"] = b.transferCost;
      json::Array slots;
      for (const plan::StagingSlot &slot : p.staging)
        slots.push_back(json::Object{{"step", slot.step},
                                     {"offset", static_cast<int64_t>(slot.offset)}});
      entry["staging"] = std::move(slots);
    }
    buffers.push_back(std::move(entry));
  }
  json::Array unplanned;
  for (const std::string &why : record.unplanned)
    unplanned.push_back(why);

  json::Object report{
      {"model", context.model},
      {"target", context.target},
      {"arena_bytes", static_cast<int64_t>(plan.arenaBytes)},
      {"lower_bound_bytes", static_cast<int64_t>(record.lowerBound)},
      {"min_budget_bytes", static_cast<int64_t>(record.floor.minBudget)},
      {"min_budget_step", record.floor.step},
      {"mem_budget_bytes", static_cast<int64_t>(record.budget)},
      {"weights_bytes", static_cast<int64_t>(context.weightsBytes)},
      {"io_bytes", static_cast<int64_t>(context.ioBytes)},
      {"heuristics", std::move(heuristics)},
      {"mapper", record.mapper},
      {"plan_verified", record.verified},
      {"planner_ms", record.plannerSeconds * 1e3},
      {"plan_time_limit_s", record.timeLimitSeconds},
      {"plan_timed_out", record.timedOut},
      {"spilled_bytes", static_cast<int64_t>(plan.spilledBytes)},
      {"host_pool_bytes", static_cast<int64_t>(record.hostPoolBytes)},
      {"modeled_transfer_ms", plan.transferCost},
      {"steps", static_cast<int64_t>(record.stepNames.size())},
      {"buffers", std::move(buffers)},
      {"unplanned", std::move(unplanned)},
  };
  // The modeled transfer cost no plan within the budget can go below: the
  // plan is optimal under the model when the two are equal.
  if (record.transferCostBound >= 0)
    report["transfer_cost_bound_ms"] = record.transferCostBound;
  report["fused_attention"] = context.fusedAttention;
  report["fusemax_cascades"] = json::Array(context.fusemaxCascades);
  if (context.train) {
    // A train step's swapped bytes: the host copies of the activations the
    // decision swapped (memc-activation-swap), and the buffers the
    // budgeted plan keeps in the host pool (staged into the arena around
    // their uses) where the estimate missed.
    json::Object train(*context.train);
    train["swapped_bytes"] =
        static_cast<int64_t>(plan.spilledBytes + record.swappedBytes);
    // An activation planned as a swap is one; the arena planner decides on
    // the exact buffers, and an activation whose buffer it spilled is
    // swapped too, whatever the estimate planned ("planned" keeps that).
    std::set<std::string> spilled;
    for (size_t i = 0; i < record.problem.buffers.size(); ++i)
      if (i < plan.placements.size() &&
          plan.placements[i].location == plan::Location::Host)
        spilled.insert(opLabel(record.problem.buffers[i].producer));
    if (json::Array *acts = train.getArray("activations"))
      for (json::Value &a : *acts) {
        json::Object *o = a.getAsObject();
        std::optional<StringRef> choice = o->getString("choice");
        std::optional<StringRef> name = o->getString("name");
        if (!choice || !name)
          continue;
        std::string planned = choice->str();
        std::string final = planned;
        if (planned == "keep")
          final = spilled.count(opLabel(name->str())) ? "swap" : "keep";
        (*o)["planned"] = planned;
        (*o)["choice"] = final;
      }
    report["train"] = std::move(train);
  }
  return report;
}

} // namespace memc
