#!/usr/bin/env python3
"""Man pages and bash completion for lockhound, made from the built command's own help.

  gen_docs.py man LOCKHOUND VERSION OUTDIR      lockhound.1.gz and lockhound-COMMAND.1.gz (help2man)
  gen_docs.py completion LOCKHOUND OUTFILE      the bash completion script

The commands are the ones `lockhound --help` lists and each command's options the ones its
`--help` lists (CLI11's layout), so a new command or option is documented and completed by the
next build with nothing else to edit.
"""
import gzip
import os
import re
import subprocess
import sys
import tempfile


def help_text(lockhound, *args):
    env = dict(os.environ, NO_COLOR="1", ASAN_OPTIONS="detect_leaks=0")
    r = subprocess.run([lockhound, *args, "--help"], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        sys.exit(f"gen_docs: `{lockhound} {' '.join(args)} --help` failed ({r.returncode}): {r.stderr}")
    return r.stdout


def sections(text):
    """CLI11 help: a heading line ending in ':' at column 0, then indented entries."""
    out, current = {}, None
    for line in text.splitlines():
        if re.match(r"^[A-Z][A-Za-z ]*:$", line):
            current = line[:-1]
            out[current] = []
        elif current and line.startswith("  "):
            out[current].append(line)
        elif not line.strip():
            continue
        else:
            current = None
    return out


def commands(lockhound):
    subs = sections(help_text(lockhound)).get("Subcommands", [])
    names = [line.split()[0] for line in subs if re.match(r"^  \S", line)]
    if not names:
        sys.exit(f"gen_docs: `{lockhound} --help` lists no subcommands")
    return names


def options(text):
    """[(names, takes_value, choices)] from a command's Options section."""
    result = []
    for line in sections(text).get("Options", []):
        if not re.match(r"^  -", line):
            continue  # a description carried to its own line
        spec = re.split(r"\s{2,}", line.strip())[0]
        parts = spec.split(" ", 1)
        names = [n for n in parts[0].split(",") if n.startswith("-")]
        value = parts[1] if len(parts) > 1 else ""
        m = re.search(r"\{([^}]*)\}", value)
        choices = m.group(1).split(",") if m else []
        result.append((names, bool(value), choices))
    return result


def positionals(text):
    return [line.split()[0] for line in sections(text).get("Positionals", []) if re.match(r"^  \S", line)]


def description(text):
    return text.splitlines()[0].strip() if text.strip() else ""


def make_man(lockhound, version, outdir):
    os.makedirs(outdir, exist_ok=True)
    cmds = commands(lockhound)
    pages = ["lockhound"] + [f"lockhound-{c}" for c in cmds]
    with tempfile.TemporaryDirectory() as tmp:
        # A wrapper per page: help2man runs `PROGRAM --help` and names the page after PROGRAM.
        for page, cmd in [("lockhound", None)] + [(f"lockhound-{c}", c) for c in cmds]:
            text = help_text(lockhound, *([cmd] if cmd else []))
            name = description(text)
            if cmd is None:
                name = name.split(": ", 1)[-1]
            see_also = ", ".join(f"\\fB{p}\\fR(1)" for p in pages if p != page)
            include = os.path.join(tmp, page + ".h2m")
            with open(include, "w") as f:
                f.write("[SEE ALSO]\n" + see_also + "\n.PP\nThe documentation is in share/doc/lockhound under "
                        "the install prefix (/usr/share/doc/lockhound from the package), or docs/ of the "
                        "source tree.\n")
            wrapper = os.path.join(tmp, page)
            with open(wrapper, "w") as f:
                sub = f" {cmd}" if cmd else ""
                f.write(f'#!/bin/sh\ncase "$1" in --version) echo "{page} {version}";; '
                        f'*) exec "{lockhound}"{sub} --help;; esac\n')
            os.chmod(wrapper, 0o755)
            out = os.path.join(tmp, page + ".1")
            r = subprocess.run(["help2man", "--no-info", "--section=1", "--source=lockhound " + version,
                                "--manual=lockhound manual", "--name=" + name, "--include=" + include,
                                "--output=" + out, wrapper], capture_output=True, text=True,
                               env=dict(os.environ, NO_COLOR="1", ASAN_OPTIONS="detect_leaks=0"))
            if r.returncode != 0:
                sys.exit(f"gen_docs: help2man failed for {page}: {r.stderr}")
            with open(out, "rb") as src:
                data = src.read()
            # help2man names the wrapper's path in places; the page should say the command.
            data = data.replace(wrapper.encode(), page.encode())
            with gzip.GzipFile(os.path.join(outdir, page + ".1.gz"), "wb", mtime=0) as dst:
                dst.write(data)
    # Pages of commands that no longer exist must not be installed.
    for f in os.listdir(outdir):
        if f.endswith(".1.gz") and f[:-5] not in pages:
            os.remove(os.path.join(outdir, f))


COMPLETION_HEAD = r'''# bash completion for lockhound. Generated at build time from `lockhound --help` and each
# command's --help (cmake/gen_docs.py): do not edit.
_lockhound() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=""
  ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD-1]}
  # --opt=value: bash splits at '=' (COMP_WORDBREAKS)
  if [[ $cur == = ]]; then cur=""; prev=${COMP_WORDS[COMP_CWORD-1]}
    ((COMP_CWORD > 1)) && prev=${COMP_WORDS[COMP_CWORD-2]}
  elif [[ $prev == = ]] && ((COMP_CWORD > 1)); then prev=${COMP_WORDS[COMP_CWORD-2]}; fi
  COMPREPLY=()
  local i cmd="" at=0
  for ((i = 1; i < COMP_CWORD; i++)); do
    case ${COMP_WORDS[i]} in -*) ;; *) cmd=${COMP_WORDS[i]}; at=$i; break ;; esac
  done
'''

COMPLETION_TAIL = r'''
complete -o bashdefault -o default -F _lockhound lockhound
'''


def quote_words(words):
    return " ".join(words)


def make_completion(lockhound, outfile):
    cmds = commands(lockhound)
    body = [COMPLETION_HEAD]
    top = options(help_text(lockhound))
    top_opts = [n for names, _, _ in top for n in names]
    body.append(f'  local commands="{quote_words(cmds)}"\n')
    body.append('  if [[ -z $cmd ]]; then\n')
    body.append(f'    if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "{quote_words(top_opts)}" -- "$cur"))\n')
    body.append('    else COMPREPLY=($(compgen -W "$commands help" -- "$cur")); fi\n')
    body.append('    return 0\n  fi\n')
    body.append('  if [[ $cmd == help ]]; then\n')
    body.append('    ((COMP_CWORD == at + 1)) && COMPREPLY=($(compgen -W "$commands" -- "$cur"))\n')
    body.append('    return 0\n  fi\n')
    body.append('  # run: after --, the program (a command) and then its own arguments (files)\n')
    body.append('  if [[ $cmd == run ]]; then\n')
    body.append('    for ((i = at + 1; i < COMP_CWORD; i++)); do\n')
    body.append('      if [[ ${COMP_WORDS[i]} == -- ]]; then\n')
    body.append('        compopt -o filenames 2>/dev/null\n')
    body.append('        if ((COMP_CWORD == i + 1)); then COMPREPLY=($(compgen -c -- "$cur")); '
                'else COMPREPLY=($(compgen -f -- "$cur")); fi\n')
    body.append('        return 0\n      fi\n    done\n  fi\n')
    body.append('  local opts="" values="" value_opts="" pid=""\n')
    body.append('  case $cmd in\n')
    for c in cmds:
        text = help_text(lockhound, c)
        opts = options(text)
        names = [n for ns, _, _ in opts for n in ns]
        if c == "run":
            names.append("--")
        body.append(f'    {c})\n      opts="{quote_words(names)}"\n')
        takes = [n for ns, v, _ in opts if v for n in ns]
        body.append(f'      value_opts=" {quote_words(takes)} "\n')
        choice_cases = [(ns, ch) for ns, v, ch in opts if ch]
        if choice_cases:
            body.append('      case $prev in\n')
            for ns, ch in choice_cases:
                body.append(f'        {"|".join(ns)}) values="{quote_words(ch)}" ;;\n')
            body.append('      esac\n')
        if any(p.lower() in ("pid", "pids") for p in positionals(text)):
            body.append('      pid=1\n')
        body.append('      ;;\n')
    body.append('    *) return 0 ;;\n  esac\n')
    body.append(r'''  if [[ -n $values ]]; then
    COMPREPLY=($(compgen -W "$values" -- "$cur"))
    return 0
  fi
  # An option's value other than a choice: a file name (bash's default completion)
  if [[ $prev == -* && $value_opts == *" $prev "* ]]; then
    return 0
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  elif [[ -n $pid ]]; then
    local p pids=""
    for p in /proc/[0-9]*; do pids+=" ${p#/proc/}"; done
    COMPREPLY=($(compgen -W "$pids" -- "$cur"))
  fi
  return 0
}
''')
    body.append(COMPLETION_TAIL)
    tmp = outfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("".join(body))
    os.replace(tmp, outfile)


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "man":
        make_man(sys.argv[2], sys.argv[3], sys.argv[4])
    elif len(sys.argv) == 4 and sys.argv[1] == "completion":
        make_completion(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
