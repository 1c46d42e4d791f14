// The process's part of the lock-order database (option db=FILE, LOCKHOUND_DB): at its end, its
// graph (classes, usage, edges with their evidence, symbolized) and its findings, written in one
// transaction by src/db. Never on a lock path: only finish() calls it, once, with no runtime lock
// held during the write; a failure is one warning and the program's end goes on.
#include <string>
#include <vector>

#include "db/database.h"
#include "runtime/runtime_state.h"

namespace lockhound::runtime {

void record_run(const std::vector<Finding>& findings) {
  Runtime& r = rt();
  if (r.opts.db.empty()) return;
  try {
    db::RunRecord rec;
    rec.run = db::this_run("run", r.program, db::process_arguments());
    rec.run.pid = r.pid;
    r.lock.lock();
    db::add_graph(*r.v, rec);
    r.lock.unlock();
    // The evidence as a finding's chain is symbolized: functions, files and lines, so that a
    // report read later, without this process's modules mapped, names the code.
    Finding carrier;
    carrier.chain = std::move(rec.edges);
    r.report_lock.lock();
    symbolize_finding(carrier);
    r.report_lock.unlock();
    rec.edges = std::move(carrier.chain);
    rec.findings = findings;
    std::string why = db::write_run(r.opts.db, rec);
    if (!why.empty())
      write_all(2, "==" + std::to_string(r.pid) + "== lockhound: warning: the lock-order database was not updated: " +
                       why + "\n");
  } catch (...) {
    write_all(2, "==" + std::to_string(r.pid) + "== lockhound: warning: the lock-order database was not updated\n");
  }
}

}  // namespace lockhound::runtime
