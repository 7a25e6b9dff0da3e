// Deciding an import (SPEC §6.6): a new filing's whole history as one item of the writer's queue.
// Each event is decided by decide(), the rules of a live append, on top of the events before it
// in the same savepoint; so every check that involves time compares business times (occurred_at
// against the filing's previous event, a confirmation against the SMS deadline pinned by the
// imported submitted_to_bureau), and only the "not in the future" check reads the clock. Internal
// to the ledger (decide.hpp).
#include <set>
#include <string>

#include "ledger/decide.hpp"

namespace filingd {
namespace {

// The error of event `i`: its position, its field as a path in the import's JSON form (a
// filing_id is the import's own), and its type in the message.
Error at_event(Error e, std::size_t i, EventType type) {
  e.index = i;
  if (!e.field.empty() && e.field != "filing_id")
    e.field = "events[" + std::to_string(i) + "]." + e.field;
  e.message =
      "event " + std::to_string(i) + " (" + std::string(to_string(type)) + "): " + e.message;
  return e;
}

}  // namespace

Status check_import_size(std::size_t events) {
  if (events <= kMaxImportEvents) return {};
  return make_error(ErrorCode::too_large,
                    "an import holds at most " + std::to_string(kMaxImportEvents) +
                        " events; this one has " + std::to_string(events),
                    "events");
}

Result<std::vector<ImportStep>> import_steps(ImportCommand& c) {
  if (c.events.empty())
    return make_error(ErrorCode::invalid, "an import needs at least its filing_submitted",
                      "events");
  if (auto ok = check_import_size(c.events.size()); !ok) return ok.take_error();
  std::vector<ImportStep> steps;
  steps.reserve(c.events.size());
  std::set<std::string, std::less<>> event_ids;
  for (std::size_t i = 0; i < c.events.size(); ++i) {
    ImportedEvent& e = c.events[i];
    const EventType type = type_of(e.data);
    AppendCommand cmd;
    cmd.filing_id = c.filing_id;
    cmd.data = std::move(e.data);
    cmd.event_id = std::move(e.event_id);
    cmd.actor = std::move(e.actor);
    cmd.principal = c.principal;
    cmd.occurred_at = e.occurred_at;
    // The first event creates the filing: an existing filing_id is a conflict, and it must be a
    // submission (validate_command).
    cmd.must_create = i == 0;
    if (auto ok = validate_command(cmd); !ok) return at_event(ok.take_error(), i, type);
    if (!cmd.event_id.empty() && !event_ids.insert(cmd.event_id).second)
      return at_event(
          make_error(ErrorCode::invalid,
                     "event_id " + cmd.event_id + " is given to an earlier event", "event_id"),
          i, type);
    ImportStep step;
    step.fingerprint = command_fingerprint(cmd);
    step.cmd = std::move(cmd);
    steps.push_back(std::move(step));
  }
  return steps;
}

Result<AppendResult> decide_import(Staging& txn, std::span<const ImportStep> steps,
                                   const DecideContext& ctx, Timestamp now, LedgerHead& head) {
  const LedgerHead head_before = head;
  std::optional<TreeBlocks> tree_before;
  if (ctx.tree != nullptr) tree_before = *ctx.tree;
  auto refuse = [&](Error e, std::size_t i) {
    head = head_before;
    if (ctx.tree != nullptr) *ctx.tree = *tree_before;
    return at_event(std::move(e), i, type_of(steps[i].cmd.data));
  };
  Result<AppendResult> last = make_error(ErrorCode::internal, "an import without events");
  for (std::size_t i = 0; i < steps.size(); ++i) {
    auto r = decide(txn, steps[i].cmd, steps[i].fingerprint, ctx, now, head);
    if (!r) return refuse(r.take_error(), i);
    if (r->duplicate)
      return refuse(make_error(ErrorCode::conflict,
                               "event_id " + steps[i].cmd.event_id + " was appended before (seq " +
                                   std::to_string(r->seq.value) + ")",
                               "event_id"),
                    i);
    last = std::move(r);
  }
  return last;
}

}  // namespace filingd
