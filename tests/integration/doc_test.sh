#!/usr/bin/env bash
# The manual pages and the bash completion say what the programs do: every
# command of `cairn --help` with every flag it lists is in cairn(1) and the
# page names no other; bash completes every command word and every flag of
# every command from the generated completion; cairnd(8) names the options
# of `cairnd --help` and no other; cairn.conf(5) names every option of the
# file `cairn init` writes, in its section, and no other.
# usage: doc_test.sh CAIRN CAIRN_1 COMPLETION CAIRND CAIRND_8 CAIRN_CONF_5
set -uo pipefail
cairn=$1
man1=$2
completion=$3
cairnd=$4
man8=$5
man5=$6
dir=$(mktemp -d /tmp/cairn-doc-XXXXXX)
trap 'rm -rf "$dir"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# "COMMAND --flag" for each flag in each command's block, in order; the
# block of a command runs to the next command or to the general options.
pairs() {
  awk '
    /^Options for every command:/ { cmd = "(general)" }
    /^cairn [a-z]/ && cmd != "(general)" {
      cmd = $2; if ($3 ~ /^[a-z][a-z-]*$/) cmd = cmd " " $3
      print "command " cmd
    }
    { line = $0
      while (match(line, /--[a-z][a-z0-9-]*/)) {
        print (cmd == "" ? "(top)" : cmd) " " substr(line, RSTART, RLENGTH)
        line = substr(line, RSTART + RLENGTH)
      } }' | sort -u
}

"$cairn" --help | sed 's/^  cairn /cairn /' | pairs >"$dir/help"
# The flags each command's usage line offers (its first line, and the
# continuation lines indented by six), for the completion.
"$cairn" --help | awk '
  /^  cairn [a-z]/ { cmd = $2; if ($3 ~ /^[a-z][a-z-]*$/) cmd = cmd " " $3; usage = 1 }
  /^Options for every command:/ { usage = 0 }
  !/^  cairn / && !/^      [^ ]/ { usage = 0 }
  usage { line = $0
    while (match(line, /--[a-z][a-z0-9-]*/)) {
      print cmd " " substr(line, RSTART, RLENGTH); line = substr(line, RSTART + RLENGTH)
    } }' | sort -u >"$dir/usage"
# A man page's text: troff escapes and fonts dropped, as a reader sees it.
mantext() { sed -e 's/\\f[BIR]//g' -e 's/\\-/-/g' -e 's/\\e/\\/g' -e 's/\\&//g' -e '/^\./d' "$1"; }
mantext "$man1" | pairs >"$dir/man"
[ "$(grep -c '^command ' "$dir/help")" -gt 40 ] && ok || bad "cairn --help lists few commands"
[ "$(wc -l <"$dir/help")" -gt 200 ] && ok || bad "cairn --help lists few flags"
[ "$(wc -l <"$dir/usage")" -gt 150 ] && ok || bad "few flags read from the usage lines"
if diff "$dir/help" "$dir/man" >"$dir/diff"; then ok; else
  bad "cairn --help and cairn(1) differ (< help, > man):"; cat "$dir/diff"
fi

# Completion: every command word, then every flag of each command.
complete_words() {
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _cairn
           printf "%s\n" "${COMPREPLY[@]}"' _ "$completion" "$@"
}
bash -c 'source "$1"; complete -p cairn' _ "$completion" | grep -- '-F _cairn cairn$' >/dev/null && ok ||
  bad "the completion does not register for cairn"
complete_words cairn st | sort | tr '\n' ' ' | grep -x 'standard status student ' >/dev/null && ok ||
  bad "cairn st<TAB>: $(complete_words cairn st | tr '\n' ' ')"
while read -r _ group verb; do
  if [ -z "$verb" ]; then
    complete_words cairn "${group:0:3}" | grep -x "$group" >/dev/null || bad "cairn ${group:0:3}<TAB> lacks $group"
    words=(cairn "$group" --)
  else
    complete_words cairn "$group" "" | grep -x "$verb" >/dev/null || bad "cairn $group <TAB> lacks $verb"
    words=(cairn "$group" "$verb" --)
  fi
  want=$(grep "^$group${verb:+ $verb} --" "$dir/usage" | awk '{print $NF}' | sort -u)
  got=$(complete_words "${words[@]}" | sort -u)
  missing=$(comm -23 <(echo "$want") <(echo "$got"))
  [ -z "$missing" ] && ok || bad "cairn $group $verb --<TAB> lacks $(echo $missing)"
done < <(grep '^command ' "$dir/help")
# A flag's value is not taken for a command word; a file name completes.
complete_words cairn --data /tmp st | grep -x student >/dev/null && ok || bad "cairn --data DIR st<TAB>"
complete_words cairn bundle export --to "$dir/" | grep "^$dir/" >/dev/null && ok || bad "--to FILE<TAB> offers no file"
touch "$dir/x" && complete_words cairn bundle export --to "$dir/" | grep -x "$dir/x" >/dev/null && ok ||
  bad "--to FILE<TAB> does not offer $dir/x"

# cairnd(8): the same options as cairnd --help, long and short.
options() { grep -o -E -- '(^|[ [(])--?[a-zA-Z][a-z-]*' | sed 's/^[ [(]//' | sort -u; }
"$cairnd" --help | options >"$dir/cairnd.help"
mantext "$man8" | options >"$dir/cairnd.man"
[ "$(wc -l <"$dir/cairnd.help")" -ge 9 ] && ok || bad "cairnd --help lists few options"
if diff "$dir/cairnd.help" "$dir/cairnd.man" >"$dir/diff"; then ok; else
  bad "cairnd --help and cairnd(8) differ (< help, > man):"; cat "$dir/diff"
fi

# cairn.conf(5): "[section] option" as cairn init writes the file, and as
# the page lists them.
"$cairn" init --data "$dir/node" >/dev/null || bad "cairn init"
awk '/^\[/ { sec = $1 } /^[a-z_]+ =/ { print sec, $1 }' "$dir/node/cairn.conf" | sort >"$dir/conf.file"
awk '/^\.SS / { sec = $2 } /^\\fB[a-z_]+\\fR$/ { gsub(/\\f[BR]/, ""); print sec, $0 }' "$man5" |
  sort >"$dir/conf.man"
[ "$(wc -l <"$dir/conf.file")" -ge 10 ] && ok || bad "cairn init wrote few options"
if diff "$dir/conf.file" "$dir/conf.man" >"$dir/diff"; then ok; else
  bad "cairn.conf as written and cairn.conf(5) differ (< file, > man):"; cat "$dir/diff"
fi

echo "doc: $pass passed, $fail failed"
[ $fail -eq 0 ]
