#!/usr/bin/env bash
# The citation check of `make test`: every citation in gradlab's sources and
# docs points inside the repository (docs/papers/README.md says why).
#   (a) no reference to a folder outside the repository (../shared,
#       shared/papers), to a document by a bare name that is not in it
#       (rl.md, alignment.md, DESIGN.md) or to an issue number ("issue 8"),
#       in the tracked sources and docs;
#   (b) every cited docs/papers/NAME.md exists, and every path/to/file.ext
#       written in backticks in README.md and in every other Markdown file
#       (READMEs, write-ups, docs/, exercise statements) exists
#       (looked up from the repository root, from the citing file's folder, or
#       as the end of a tracked path: `cpu/gemm.cpp` in a table of tensor/;
#       `name.h/.cpp` stands for both files; build outputs are not checked).
# Prints each bad citation as file:line and exits 1 when there is any.
#   tests/check_citations.sh            # from the repository root
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

# The files checked: tracked ones when this is a git checkout, else all but build folders.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t all_files < <(git ls-files --cached --others --exclude-standard)
else
  mapfile -t all_files < <(find . -type f -not -path './build*' -not -path './.git/*' | sed 's|^\./||' | sort)
fi
file_list=$(printf '%s\n' "${all_files[@]}")
sources=()
for f in "${all_files[@]}"; do
  case $f in
    tests/check_citations.sh) ;;  # this file spells out the patterns it looks for
    *.cpp | *.h | *.cu | *.cuh | *.md | *.sh | *.py | Makefile | */Makefile) [ -f "$f" ] && sources+=("$f") ;;
  esac
done

bad=0 checked=0
report() {  # report FILE:LINE WHAT
  echo "$1: $2"
  bad=$((bad + 1))
}

# ---- (a) references that leave the repository, and issue numbers ----
outside='(\.\./shared|shared/papers|(^|[^A-Za-z0-9_./-])(rl|alignment|DESIGN)\.md|[Ii]ssues? #?[0-9])'
while IFS= read -r hit; do
  loc=${hit%%:*}
  rest=${hit#*:}
  loc="$loc:${rest%%:*}"
  report "$loc" "points outside the repository or names an issue: ${rest#*:}"
done < <(grep -nE "$outside" "${sources[@]}" /dev/null)
checked=$((checked + ${#sources[@]}))

# ---- (b) cited repository paths that do not exist ----
exists() {  # exists PATH CITING_FILE: the path names a file or folder of the repository
  local p=$1 dir
  dir=$(dirname "$2")
  [ -e "$p" ] || [ -e "$dir/$p" ] && return 0
  grep -qE "(^|/)${p//./\\.}$" <<<"$file_list"  # no pipe: grep -q would end it early (SIGPIPE)
}

# docs/papers/NAME.md anywhere in the sources
while IFS= read -r hit; do
  file=${hit%%:*}
  rest=${hit#*:}
  line=${rest%%:*}
  path=${rest#*:}
  checked=$((checked + 1))
  [ -e "$path" ] || report "$file:$line" "cites $path, which does not exist"
done < <(grep -noE 'docs/papers/[A-Za-z0-9_.-]+\.md' "${sources[@]}" /dev/null)

# backticked paths in every Markdown file
docs=()
for f in "${sources[@]}"; do
  case $f in
    README.md | */*.md) docs+=("$f") ;;
  esac
done
while IFS= read -r hit; do
  file=${hit%%:*}
  rest=${hit#*:}
  line=${rest%%:*}
  token=${rest#*:}
  token=${token//\`/}
  # a path: words joined by '/', ending in an extension; no spaces, flags or placeholders
  [[ $token =~ ^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$ ]] || continue
  [[ $token =~ \.[A-Za-z0-9]+$ ]] || continue
  case $token in build/* | build-*/* | results/* | */NAME.* | */NAME/*) continue ;; esac
  paths=("$token")
  if [[ $token =~ ^(.*)\.([A-Za-z0-9]+)/\.([A-Za-z0-9]+)$ ]]; then  # name.h/.cpp
    paths=("${BASH_REMATCH[1]}.${BASH_REMATCH[2]}" "${BASH_REMATCH[1]}.${BASH_REMATCH[3]}")
  fi
  for p in "${paths[@]}"; do
    checked=$((checked + 1))
    exists "$p" "$file" || report "$file:$line" "cites \`$p\`, which does not exist"
  done
done < <(grep -noE '`[^`]+`' "${docs[@]}" /dev/null)

echo "citations: $checked checked, $bad bad"
[ "$bad" = 0 ]
