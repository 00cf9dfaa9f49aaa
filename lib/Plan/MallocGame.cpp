//===- MallocGame.cpp - Memory planning as a single-player game -----------===//
//
// The rules (MallocGame.h) and the features the network sees. Kept free of
// any search policy: MCTS, the greedy policy and the trainer all play
// through legalMoves/play, so they cannot disagree on what a move means.
//
//===----------------------------------------------------------------------===//

#include "memc/Plan/MallocGame.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <tuple>

namespace memc::plan {
namespace {

constexpr uint64_t kUnbounded = std::numeric_limits<uint64_t>::max();
constexpr int64_t kNoEnd = std::numeric_limits<int64_t>::max();

float clip(double value, double lo, double hi) {
  return static_cast<float>(std::min(hi, std::max(lo, value)));
}

} // namespace

MallocGame::MallocGame(const Problem &problem) : problem_(&problem) {
  const std::vector<Buffer> &bs = problem.buffers;
  order_.resize(bs.size());
  std::iota(order_.begin(), order_.end(), 0);
  std::sort(order_.begin(), order_.end(), [&](size_t a, size_t b) {
    return std::make_tuple(bs[a].start, bs[b].size, bs[a].id) <
           std::make_tuple(bs[b].start, bs[a].size, bs[b].id);
  });
  lowerBound_ = memc::plan::lowerBound(problem);
  usable_ = problem.capacity & ~(kArenaAlignment - 1);
  scale_ = static_cast<double>(
      std::max<uint64_t>(budgeted() ? usable_ : lowerBound_, 1));
  firstStep_ = bs.empty() ? 0 : bs[order_.front()].start;
  lastStep_ = firstStep_;
  for (const Buffer &b : bs) {
    totalCost_ += b.transferCost;
    lastStep_ = std::max(lastStep_, b.end);
  }
  useSteps_.reserve(bs.size());
  for (size_t index : order_)
    useSteps_.push_back(useSteps(bs[index]));

  // Live load at each distinct start step (the load only rises at starts),
  // then range maxima over them with a sparse table.
  std::vector<int64_t> starts;
  for (size_t index : order_)
    if (starts.empty() || starts.back() != bs[index].start)
      starts.push_back(bs[index].start);
  std::vector<std::pair<int64_t, int64_t>> ends; // (end + 1, -bytes)
  for (const Buffer &b : bs)
    ends.push_back({b.end + 1, static_cast<int64_t>(footprint(b))});
  std::sort(ends.begin(), ends.end());
  std::vector<uint64_t> load(starts.size(), 0);
  {
    int64_t live = 0;
    size_t nextBuffer = 0, nextEnd = 0;
    for (size_t p = 0; p < starts.size(); ++p) {
      while (nextEnd < ends.size() && ends[nextEnd].first <= starts[p])
        live -= ends[nextEnd++].second;
      while (nextBuffer < order_.size() &&
             bs[order_[nextBuffer]].start == starts[p])
        live += static_cast<int64_t>(footprint(bs[order_[nextBuffer++]]));
      load[p] = static_cast<uint64_t>(live);
    }
  }
  std::vector<std::vector<uint64_t>> table{load};
  for (size_t width = 1; 2 * width <= load.size(); width *= 2) {
    const std::vector<uint64_t> &prev = table.back();
    std::vector<uint64_t> row(load.size() - 2 * width + 1);
    for (size_t i = 0; i < row.size(); ++i)
      row[i] = std::max(prev[i], prev[i + width]);
    table.push_back(std::move(row));
  }
  auto rangeMax = [&](size_t lo, size_t hi) { // Inclusive, lo <= hi.
    size_t level = 0;
    while ((size_t(2) << level) <= hi - lo + 1)
      ++level;
    return std::max(table[level][lo],
                    table[level][hi + 1 - (size_t(1) << level)]);
  };
  std::vector<uint64_t> suffixMax(load.size() + 1, 0);
  for (size_t p = load.size(); p-- > 0;)
    suffixMax[p] = std::max(suffixMax[p + 1], load[p]);
  for (size_t index : order_) {
    const Buffer &b = bs[index];
    size_t lo = std::lower_bound(starts.begin(), starts.end(), b.start) -
                starts.begin();
    size_t hi = std::upper_bound(starts.begin(), starts.end(), b.end) -
                starts.begin() - 1;
    loadAtStart_.push_back(load[lo]);
    peakOver_.push_back(rangeMax(lo, hi));
    peakAfter_.push_back(suffixMax[lo]);
  }
}

MallocGame::State MallocGame::initialState() const {
  State state;
  state.moves.reserve(order_.size());
  checkDeadEnd(state);
  return state;
}

bool MallocGame::fitSlot(const State &state, int64_t step, uint64_t bytes,
                         uint64_t alignment, uint64_t &offset) const {
  uint64_t top = 0;
  for (const Range &r : state.ranges) {
    if (r.start > step || r.end < step)
      continue;
    uint64_t candidate = alignUp(top, alignment);
    if (r.lo > top && candidate + bytes <= r.lo)
      break;
    top = std::max(top, r.hi);
  }
  offset = alignUp(top, alignment);
  return usable_ == 0 || offset + bytes <= usable_;
}

std::vector<MoveInfo> MallocGame::legalMoves(const State &state) const {
  std::vector<MoveInfo> moves;
  if (terminal(state))
    return moves;
  const Buffer &b = current(state);
  const uint64_t bytes = footprint(b);
  if (bytes == 0) {
    // Occupies nothing: offset 0 is aligned and overlaps nothing.
    MoveInfo info;
    info.gapHi = kUnbounded;
    info.top = info.bestFit = info.firstFit = true;
    info.belowEnd = info.aboveEnd = kNoEnd;
    moves.push_back(info);
    return moves;
  }
  const uint64_t limit = usable_ == 0 ? kUnbounded : usable_;
  uint64_t top = 0;
  int64_t topEnd = kNoEnd; // End of the range that set `top`.
  auto consider = [&](uint64_t gapHi, int64_t aboveEnd, bool isTop) {
    uint64_t offset = alignUp(top, b.alignment);
    if (offset > gapHi || gapHi - offset < bytes)
      return;
    MoveInfo info;
    info.move.offset = offset;
    info.gapLo = top;
    info.gapHi = isTop && usable_ == 0 ? kUnbounded : gapHi;
    info.top = isTop;
    info.belowEnd = topEnd;
    info.aboveEnd = aboveEnd;
    moves.push_back(info);
  };
  for (const Range &r : state.ranges) {
    if (r.start > b.end || r.end < b.start)
      continue;
    if (r.lo > top)
      consider(r.lo, r.end, false);
    if (r.hi > top) {
      top = r.hi;
      topEnd = r.end;
    }
  }
  if (top < limit)
    consider(limit, kNoEnd, true);
  if (!moves.empty()) {
    moves.front().firstFit = true;
    size_t best = 0;
    for (size_t i = 1; i < moves.size(); ++i)
      if (moves[i].gapHi - moves[i].gapLo <
          moves[best].gapHi - moves[best].gapLo)
        best = i;
    moves[best].bestFit = true;
  }
  if (usable_ != 0) {
    bool fits = true;
    uint64_t offset = 0;
    for (int64_t step : useSteps_[state.next])
      if (!(fits = fitSlot(state, step, bytes, b.alignment, offset)))
        break;
    // Slots of one buffer never overlap each other (one per step), so each
    // fits independently of the others.
    if (fits) {
      MoveInfo info;
      info.move.spill = true;
      info.belowEnd = info.aboveEnd = kNoEnd;
      moves.push_back(info);
    }
  }
  return moves;
}

void MallocGame::insertRange(State &state, const Range &range) const {
  auto at =
      std::upper_bound(state.ranges.begin(), state.ranges.end(), range.lo,
                       [](uint64_t lo, const Range &r) { return lo < r.lo; });
  state.ranges.insert(at, range);
  state.extent = std::max(state.extent, range.hi);
}

void MallocGame::play(State &state, const GameMove &move) const {
  const Buffer &b = current(state);
  const uint64_t bytes = footprint(b);
  if (move.spill) {
    state.spilledCost += b.transferCost;
    for (int64_t step : useSteps_[state.next]) {
      uint64_t offset = 0;
      fitSlot(state, step, bytes, b.alignment, offset);
      insertRange(state, {step, step, offset, offset + bytes});
    }
  } else if (bytes != 0) {
    insertRange(state, {b.start, b.end, move.offset, move.offset + bytes});
  }
  state.moves.push_back(move);
  ++state.next;
  if (state.next < order_.size()) {
    // Ranges that ended before the next start overlap nothing to come.
    int64_t now = current(state).start;
    state.ranges.erase(
        std::remove_if(state.ranges.begin(), state.ranges.end(),
                       [&](const Range &r) { return r.end < now; }),
        state.ranges.end());
  }
  checkDeadEnd(state);
}

void MallocGame::checkDeadEnd(State &state) const {
  // Without a capacity the top always fits; under one, a buffer can find
  // neither room nor room for its staging slots.
  if (usable_ != 0 && !terminal(state) && legalMoves(state).empty())
    state.deadEnd = true;
}

double MallocGame::score(const State &state) const {
  if (state.deadEnd)
    return kDeadEndScore;
  if (budgeted())
    return totalCost_ > 0 ? -state.spilledCost / totalCost_ : 0.0;
  if (lowerBound_ == 0)
    return -1.0;
  return -static_cast<double>(alignUp(state.extent, kArenaAlignment)) /
         static_cast<double>(lowerBound_);
}

Plan MallocGame::toPlan(const State &state, const char *algorithm) const {
  // Replays the moves to recover the staging slots' offsets, which the
  // state does not keep once their ranges are pruned.
  Plan plan;
  plan.algorithm = algorithm;
  plan.placements.resize(problem_->buffers.size());
  State replay;
  for (size_t k = 0; k < state.moves.size(); ++k) {
    const GameMove &move = state.moves[k];
    const Buffer &b = current(replay);
    Placement &placement = plan.placements[order_[k]];
    if (move.spill) {
      placement.location = Location::Host;
      for (int64_t step : useSteps_[k]) {
        uint64_t offset = 0;
        fitSlot(replay, step, footprint(b), b.alignment, offset);
        placement.staging.push_back({step, offset});
      }
    } else {
      placement.location = Location::Arena;
      placement.offset = move.offset;
    }
    play(replay, move);
  }
  summarizePlan(*problem_, plan);
  return plan;
}

void MallocGame::moveFeatures(const State &state,
                              const std::vector<MoveInfo> &moves,
                              std::vector<float> &out) const {
  out.assign(moves.size() * kMoveFeatures, 0.0f);
  const Buffer &b = current(state);
  const size_t k = state.next;
  const double bytes = static_cast<double>(footprint(b));
  const double length = static_cast<double>(b.end - b.start + 1);
  const double steps = static_cast<double>(lastStep_ - firstStep_ + 1);
  const double extent = static_cast<double>(state.extent);
  for (size_t m = 0; m < moves.size(); ++m) {
    const MoveInfo &info = moves[m];
    float *f = &out[m * kMoveFeatures];
    f[0] = info.move.spill ? 1.0f : 0.0f;
    f[11] = clip(bytes / scale_, 0, 4);
    f[12] = clip(length / steps, 0, 1);
    f[13] = clip(static_cast<double>(loadAtStart_[k]) / scale_, 0, 4);
    f[14] = clip(totalCost_ > 0 ? b.transferCost / totalCost_ * 10 : 0, 0, 1);
    f[15] = clip(static_cast<double>(peakOver_[k]) / scale_, 0, 4);
    if (info.move.spill) {
      f[3] = clip(extent / scale_, 0, 4);
      continue;
    }
    const double offset = static_cast<double>(info.move.offset);
    const double newExtent = std::max(extent, offset + bytes);
    f[1] = clip(offset / scale_, 0, 4);
    f[2] = clip((offset + bytes) / scale_, 0, 4);
    f[3] = clip(newExtent / scale_, 0, 4);
    f[4] = clip((newExtent - extent) / scale_, 0, 4);
    f[5] = info.top ? 1.0f : 0.0f;
    f[6] = info.gapHi == kUnbounded
               ? 1.0f
               : clip(static_cast<double>(info.gapHi - info.move.offset) /
                              std::max(bytes, 1.0) -
                          1.0,
                      0, 4) /
                     4.0f;
    f[7] =
        info.belowEnd == kNoEnd
            ? 1.0f
            : clip(static_cast<double>(info.belowEnd - b.end) / length, -1, 1);
    f[8] =
        info.aboveEnd == kNoEnd
            ? 1.0f
            : clip(static_cast<double>(info.aboveEnd - b.end) / length, -1, 1);
    f[9] = info.bestFit ? 1.0f : 0.0f;
    f[10] = info.firstFit ? 1.0f : 0.0f;
  }
}

void MallocGame::stateFeatures(const State &state, float *out) const {
  std::fill(out, out + kStateFeatures, 0.0f);
  const double n = static_cast<double>(std::max<size_t>(order_.size(), 1));
  out[0] = static_cast<float>(state.next / n);
  out[1] = clip(static_cast<double>(state.extent) / scale_, 0, 4);
  out[6] = budgeted() ? 1.0f : 0.0f;
  out[5] = clip(totalCost_ > 0 ? state.spilledCost / totalCost_ : 0, 0, 1);
  if (terminal(state))
    return;
  const size_t k = state.next;
  const int64_t now = current(state).start;
  uint64_t liveTop = 0, liveBytes = 0;
  for (const Range &r : state.ranges)
    if (r.start <= now && r.end >= now) {
      liveTop = std::max(liveTop, r.hi);
      liveBytes += r.hi - r.lo;
    }
  out[2] = clip(static_cast<double>(loadAtStart_[k]) / scale_, 0, 4);
  out[3] = clip(static_cast<double>(liveTop - liveBytes) / scale_, 0, 4);
  out[4] = clip(static_cast<double>(peakAfter_[k]) / scale_, 0, 4);
  out[7] = clip(static_cast<double>(liveTop) / scale_, 0, 4);
}

} // namespace memc::plan
