#!/usr/bin/env python3
"""Compares lockhound with the real lockdep of the same boot.

For every captured boot (one test module each) this reads lockdep's own
verdict from the console log, independently of lockhound (the report titles
and the lock names lockdep printed), checks that the module made lockdep say
what the module was written to provoke, and then checks lockhound against it:

  explain  `lockhound explain --format json console.log` must have a finding
           of the same type naming the same lock classes for every report
           lockdep printed, and nothing lockdep did not print;
  trace    `lockhound trace --format json trace.txt` must find the planted
           problem (all of them for the several-problems module) where the
           lock events carry enough to see it, and must not report problems
           on locks the module did not misuse (nothing at all on the clean
           modules).

Prints one row per module and a closing "N passed, M failed"; exits 1 when
anything failed, 2 on usage errors.

Usage: check.py LOCKHOUND CAPTURES_DIR [MODULE...]
  CAPTURES_DIR/<module>/{console.log,trace.txt} as written by boot.sh;
  lockhound's JSON is stored next to them (explain.json, trace.json).
"""

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field

# ---------------------------------------------------------------------------
# What each module is written to provoke.
# ---------------------------------------------------------------------------


@dataclass
class Problem:
    type: str
    classes: frozenset

    def __str__(self):
        return f"{self.type} [{', '.join(sorted(self.classes))}]"


def P(type_, *classes):
    return Problem(type_, frozenset(classes))


@dataclass
class Module:
    # lockdep's reports on this boot, in the order printed
    lockdep: list
    # problems lockhound trace must find; None: the lock events cannot show it
    trace: list = None
    # why the trace cannot show it (when trace is None)
    trace_blind: str = ""
    # class names belonging to the module: findings on other classes are spurious
    prefix: str = ""
    clean: bool = False
    notes: str = ""


NO_WAIT_TYPES = "lock events carry no wait type (spin/sleep)"
NO_FREE = "no event for freeing memory"
NO_SYSCALL = "no event for the return to user space"
NO_NEST = "lock_acquire does not print the nest_lock"
NO_EXIT = "no event for task exit"
NO_SUBCLASS = "lock_acquire does not print the subclass, so this looks like _nested"

MODULES = {
    "lh01_abba": Module(
        lockdep=[P("circular_dependency", "lh01_queue_lock", "lh01_stats_lock")],
        trace=[P("circular_dependency", "lh01_queue_lock", "lh01_stats_lock")]),
    "lh02_cycle3": Module(
        lockdep=[P("circular_dependency", "lh02_dev_mutex", "lh02_cfg_mutex", "lh02_log_mutex")],
        trace=[P("circular_dependency", "lh02_dev_mutex", "lh02_cfg_mutex", "lh02_log_mutex")]),
    "lh03_recursive": Module(
        lockdep=[P("recursive_locking", "&lh03o->lock")],
        trace_blind=NO_SUBCLASS, prefix="&lh03o->"),
    "lh04_hardirq_state": Module(
        lockdep=[P("inconsistent_lock_state", "lh04_ring_lock")],
        trace=[P("inconsistent_lock_state", "lh04_ring_lock")]),
    "lh05_softirq_state": Module(
        lockdep=[P("inconsistent_lock_state", "lh05_cache_lock")],
        trace=[P("inconsistent_lock_state", "lh05_cache_lock")]),
    "lh06_safe_unsafe": Module(
        lockdep=[P("irq_safe_unsafe_order", "lh06_irq_lock", "lh06_list_lock")],
        trace=[P("irq_safe_unsafe_order", "lh06_irq_lock", "lh06_list_lock")]),
    "lh07_irq_inversion": Module(
        lockdep=[P("irq_lock_inversion", "lh07_dev_lock", "lh07_buf_lock")],
        trace=[P("irq_lock_inversion", "lh07_dev_lock", "lh07_buf_lock")]),
    "lh08_bad_unlock": Module(
        lockdep=[P("bad_unlock_balance", "lh08_cfg_mutex")],
        trace=[P("bad_unlock_balance", "lh08_cfg_mutex")]),
    "lh09_wait_context": Module(
        lockdep=[P("sleeping_in_invalid_context", "lh09_table_lock"),
                 P("invalid_wait_context", "lh09_sess_mutex", "lh09_table_lock")],
        trace_blind=NO_WAIT_TYPES,
        notes="mutex_lock() calls might_sleep() before lockdep sees the acquisition"),
    "lh10_might_sleep": Module(
        lockdep=[P("sleeping_in_invalid_context", "lh10_pool_lock")],
        trace_blind=NO_WAIT_TYPES),
    "lh11_freed_held": Module(
        lockdep=[P("held_lock_freed", "&lh11o->lock")],
        trace_blind=NO_FREE, prefix="&lh11o->"),
    "lh12_user_return": Module(
        lockdep=[P("lock_held_returning_to_user", "lh12_busy_mutex")],
        trace_blind=NO_SYSCALL),
    "lh13_nest_lock": Module(
        lockdep=[P("nested_lock_not_taken", "&lh13e->lock", "lh13_table_mutex")],
        trace_blind=NO_NEST, prefix="&lh13e->"),
    "lh14_exit_held": Module(
        lockdep=[P("still_has_locks_held", "lh14_worker_mutex")],
        trace_blind=NO_EXIT),
    "lh15_several": Module(
        lockdep=[P("circular_dependency", "lh15_net_mutex", "lh15_disk_mutex")],
        trace=[P("circular_dependency", "lh15_net_mutex", "lh15_disk_mutex"),
               P("circular_dependency", "lh15_rx_lock", "lh15_tx_lock"),
               P("circular_dependency", "lh15_x_lock", "lh15_y_lock", "lh15_z_lock"),
               P("inconsistent_lock_state", "lh15_timer_lock")],
        notes="lockdep reports problem 1 and turns itself off"),
    "lh16_rwsem_cycle": Module(
        lockdep=[P("circular_dependency", "lh16_index_sem", "lh16_commit_mutex")],
        trace=[P("circular_dependency", "lh16_index_sem", "lh16_commit_mutex")]),
    "lh17_inversion_in_irq": Module(
        lockdep=[P("irq_lock_inversion", "lh17_ctrl_lock", "lh17_fifo_lock")],
        trace=[P("irq_lock_inversion", "lh17_ctrl_lock", "lh17_fifo_lock")]),
    "lh18_soft_safe_unsafe": Module(
        lockdep=[P("irq_safe_unsafe_order", "lh18_timer_lock", "lh18_conf_lock")],
        trace=[P("irq_safe_unsafe_order", "lh18_timer_lock", "lh18_conf_lock")]),
    "lh20_clean_nesting": Module(lockdep=[], trace=[], clean=True, prefix="&lh20n->"),
    "lh21_clean_irq": Module(lockdep=[], trace=[], clean=True),
    "lh22_clean_irq_readers": Module(lockdep=[], trace=[], clean=True),
}

# The finding types of the kernel's lock and sleep checks (DESIGN.md vocabulary).
LOCK_TYPES = {
    "circular_dependency", "recursive_locking", "inconsistent_lock_state",
    "irq_lock_inversion", "irq_safe_unsafe_order", "invalid_wait_context",
    "sleeping_in_invalid_context", "scheduling_while_atomic", "bad_unlock_balance",
    "lock_held_returning_to_user", "still_has_locks_held", "held_lock_freed",
    "nested_lock_not_taken", "guarded_cycle", "actual_deadlock",
}

# ---------------------------------------------------------------------------
# lockdep's verdict, read from the console without lockhound
# ---------------------------------------------------------------------------

TITLES = [
    (re.compile(r"WARNING: possible circular locking dependency detected"), "circular_dependency"),
    (re.compile(r"WARNING: possible recursive locking detected"), "recursive_locking"),
    (re.compile(r"WARNING: inconsistent lock state"), "inconsistent_lock_state"),
    (re.compile(r"WARNING: possible irq lock inversion dependency detected"), "irq_lock_inversion"),
    (re.compile(r"WARNING: [A-Z]+-safe -> [A-Z]+-unsafe lock order detected"), "irq_safe_unsafe_order"),
    (re.compile(r"WARNING: bad unlock balance detected!"), "bad_unlock_balance"),
    (re.compile(r"BUG: Invalid wait context"), "invalid_wait_context"),
    (re.compile(r"BUG: sleeping function called from invalid context"), "sleeping_in_invalid_context"),
    (re.compile(r"BUG: scheduling while atomic"), "scheduling_while_atomic"),
    (re.compile(r"WARNING: held lock freed!"), "held_lock_freed"),
    (re.compile(r"WARNING: lock held when returning to user space!"), "lock_held_returning_to_user"),
    (re.compile(r"WARNING: Nested lock was not taken"), "nested_lock_not_taken"),
    (re.compile(r"WARNING: \S+/\d+ still has locks held!"), "still_has_locks_held"),
    # anything else the kernel complains about makes the boot suspect
    (re.compile(r"^(WARNING|BUG|INFO): "), "other"),
]
TIMESTAMP = re.compile(r"^\[\s*\d+\.\d+\]\s?")
# " (name){usage}-{outer:inner}"; names may contain parentheses
LOCK_DESC = re.compile(r"\((.+?)\)\{[^{}]*\}-\{\d+:\d+\}")
RELEASE = re.compile(r"trying to release lock \((.+)\) at:")
HELD = re.compile(r"^\s*#\d+:\s")
# the guest's milestones come after every report of the module; the module's
# own progress lines can land inside a report printed by another task
END = re.compile(r"LOCKDEP-HARNESS")
NOTE = re.compile(r"LOCKDEP-TEST")


def lock_names(line):
    return [m.group(1) for m in LOCK_DESC.finditer(line)]


@dataclass
class Report:
    type: str
    title: str
    key: frozenset = frozenset()       # the classes the report is about
    printed: frozenset = frozenset()   # every class named anywhere in it


def parse_console(path):
    lines = [TIMESTAMP.sub("", l.rstrip("\n")) for l in open(path, errors="replace")]
    starts = []
    for i, l in enumerate(lines):
        for rx, t in TITLES:
            if rx.search(l):
                starts.append((i, t, l.strip()))
                break
    reports = []
    for n, (i, t, title) in enumerate(starts):
        stop = starts[n + 1][0] if n + 1 < len(starts) else len(lines)
        block = []
        for l in lines[i + 1:stop]:
            if END.search(l):
                break
            if not NOTE.search(l):
                block.append(l)
        reports.append(classify(t, title, block))
    return reports


def after(block, marker):
    """Lock names on the line after the first line containing marker."""
    for i, l in enumerate(block[:-1]):
        if marker in l:
            return lock_names(block[i + 1])
    return []


def held(block):
    """Names of the held-lock list; a " #0: " torn off its lock by another
    CPU's printk continues on the next line."""
    names = []
    for i, l in enumerate(block):
        if HELD.match(l):
            found = lock_names(l)
            if not found and i + 1 < len(block):
                found = lock_names(block[i + 1])
            names += found
    return names


def classify(t, title, block):
    printed = set()
    for l in block:
        printed.update(lock_names(l))
        m = RELEASE.search(l)
        if m:
            printed.add(m.group(1))
    key = []
    if t == "circular_dependency":
        key = after(block, "is trying to acquire lock:")
        key += [n for l in block if re.match(r"^-> #\d+ ", l) for n in lock_names(l)]
    elif t == "recursive_locking":
        key = after(block, "is trying to acquire lock:")
    elif t == "inconsistent_lock_state":
        key = after(block, "takes:")
    elif t == "irq_safe_unsafe_order":
        key = after(block, "-irq-safe lock:") + after(block, "-irq-unsafe lock:")
    elif t == "irq_lock_inversion":
        key = after(block, "just changed the state of lock:") + after(block, "lock in the past:")
    elif t == "bad_unlock_balance":
        key = [m.group(1) for l in block for m in [RELEASE.search(l)] if m]
    elif t in ("invalid_wait_context",):
        key = after(block, "is trying to lock:") + held(block)
    elif t == "nested_lock_not_taken":
        # the nest lock is printed as a bare name
        key = after(block, "is trying to lock:")
        for i, l in enumerate(block[:-1]):
            if "but this task is not holding:" in l and block[i + 1].strip():
                key.append(block[i + 1].strip())
                printed.add(block[i + 1].strip())
    elif t == "held_lock_freed":
        key = after(block, "with a lock still held there!")
    elif t in ("sleeping_in_invalid_context", "lock_held_returning_to_user",
               "still_has_locks_held", "scheduling_while_atomic"):
        key = held(block)
    return Report(t, title, frozenset(key), frozenset(printed))


# ---------------------------------------------------------------------------
# lockhound's findings
# ---------------------------------------------------------------------------


@dataclass
class Run:
    ok: bool
    findings: list = field(default_factory=list)
    error: str = ""


def run_lockhound(binary, sub, infile, outfile):
    cmd = [binary, sub, "--format", "json", infile]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as e:
        return Run(False, error=f"{sub}: {e}")
    with open(outfile, "w") as f:
        f.write(p.stdout)
    if p.returncode not in (0, 1, 3):
        err = (p.stderr.strip().splitlines() or ["no output"])[-1]
        return Run(False, error=f"{sub} exit {p.returncode}: {err[:80]}")
    try:
        doc = json.loads(p.stdout)
    except json.JSONDecodeError as e:
        return Run(False, error=f"{sub}: bad JSON ({e})")
    found = []
    for f in doc.get("findings", []):
        names = []
        for c in f.get("classes", []):
            names.append(c.get("name", "") if isinstance(c, dict) else str(c))
        found.append(Problem(f.get("type", "?"), frozenset(names)))
    if p.returncode == 3:
        err = (p.stderr.strip().splitlines() or ["input error"])[0]
        return Run(False, found, f"{sub} input error: {err[:80]}")
    return Run(True, found)


def bare(name):
    """A class name as a trace event prints it: without lockdep's /subclass
    and #version suffixes, which only reports add."""
    return re.sub(r"(/\d+|#\d+)+$", "", name)


def covers(finding, want, strip):
    norm = (lambda s: {bare(n) for n in s}) if strip else (lambda s: set(s))
    return finding.type == want.type and norm(want.classes) <= norm(finding.classes)


def is_module_class(name, module_name, mod):
    prefix = module_name.split("_")[0] + "_"
    return prefix in name or (mod.prefix and mod.prefix in name)


# ---------------------------------------------------------------------------


def check_module(binary, capdir, name, mod):
    """Returns (passed, lockdep_said, explain_said, trace_said, problems)."""
    d = os.path.join(capdir, name)
    console, trace = os.path.join(d, "console.log"), os.path.join(d, "trace.txt")
    problems = []
    if not os.path.isfile(console) or os.path.getsize(console) == 0:
        return False, "no console.log", "-", "-", ["boot produced no console log"]
    overruns = [int(m.group(1)) for m in re.finditer(
        r"LOCKDEP-HARNESS: cpu\d+ entries: \d+ overrun: (\d+)", open(console, errors="replace").read())]
    if any(overruns):
        problems.append(f"the trace ring buffer overran ({sum(overruns)} events lost)")
    boot = os.path.join(d, "boot.txt")
    if os.path.isfile(boot) and "trace_complete=yes" not in open(boot).read():
        problems.append("the trace did not arrive complete (boot.txt)")
    reports = parse_console(console)
    lockdep_said = "; ".join(str(Problem(r.type, r.key)) for r in reports) or "nothing"

    # 1. did lockdep say what the module was written to provoke?
    got = [Problem(r.type, r.key) for r in reports]
    if got != mod.lockdep:
        problems.append(f"lockdep reported {lockdep_said!r}, module expects "
                        f"{'; '.join(map(str, mod.lockdep)) or 'nothing'!r}")

    # 2. explain on the console log
    ex = run_lockhound(binary, "explain", console, os.path.join(d, "explain.json"))
    said = []
    if not ex.ok:
        problems.append(ex.error)
    matched = set()
    for r in reports:
        want = Problem(r.type, r.key)
        hit = next((i for i, f in enumerate(ex.findings)
                    if i not in matched and covers(f, want, False)
                    and f.classes <= r.printed | r.key), None)
        if hit is None:
            problems.append(f"explain missed lockdep's {want}")
            said.append("MISSING " + r.type)
        else:
            matched.add(hit)
            said.append(str(ex.findings[hit]))
    for i, f in enumerate(ex.findings):
        if i not in matched and f.type in LOCK_TYPES:
            problems.append(f"explain reported {f}, which lockdep did not print")
            said.append("EXTRA " + str(f))
    explain_said = "; ".join(said) or ("nothing" if ex.ok else "error")

    # 3. trace on the lock events
    tsaid = []
    if not os.path.isfile(trace) or os.path.getsize(trace) == 0:
        problems.append("no trace captured")
        trace_said = "no trace"
    else:
        tr = run_lockhound(binary, "trace", trace, os.path.join(d, "trace.json"))
        if not tr.ok:
            problems.append(tr.error)
        used = set()
        for want in (mod.trace or []):
            hit = next((i for i, f in enumerate(tr.findings)
                        if i not in used and covers(f, want, True)), None)
            if hit is None:
                problems.append(f"trace missed {want}")
                tsaid.append("MISSING " + str(want))
            else:
                used.add(hit)
                tsaid.append(str(tr.findings[hit]))
        for i, f in enumerate(tr.findings):
            if i in used or f.type not in LOCK_TYPES:
                continue
            ours = any(is_module_class(c, name, mod) for c in f.classes)
            if mod.clean or not ours:
                problems.append(f"trace reported {f}" + (" on a clean module" if mod.clean
                                                          else " on locks the module did not misuse"))
                tsaid.append("SPURIOUS " + str(f))
            elif mod.trace is None:
                tsaid.append("(also) " + str(f))
            else:
                tsaid.append("EXTRA " + str(f))
                problems.append(f"trace reported {f} besides the planted problems")
        if mod.trace is None:
            tsaid.insert(0, f"n/a: {mod.trace_blind}")
        trace_said = "; ".join(tsaid) or ("nothing" if tr.ok else "error")
    return not problems, lockdep_said, explain_said, trace_said, problems


def main(argv):
    if len(argv) < 3:
        print(__doc__.split("\n\n")[-1], file=sys.stderr)
        return 2
    binary, capdir = argv[1], argv[2]
    names = argv[3:] or list(MODULES)
    unknown = [n for n in names if n not in MODULES]
    if unknown:
        print(f"check.py: no expectations for {', '.join(unknown)}", file=sys.stderr)
        return 2
    rows, details = [], []
    passed = failed = 0
    for name in names:
        ok, ld, ex, tr, problems = check_module(binary, capdir, name, MODULES[name])
        rows.append((name, ld, ex, tr, "PASS" if ok else "FAIL"))
        if ok:
            passed += 1
        else:
            failed += 1
            details.extend(f"  {name}: {p}" for p in problems)
    header = ("module", "lockdep said", "explain said", "trace said", "result")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for r in rows:
        print("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
    if details:
        print("\nfailures:")
        print("\n".join(details))
    print(f"\n{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
