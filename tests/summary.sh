#!/bin/sh
# Adds up the counts every suite printed in a `make check` log and prints one
# closing line: "check: N passed, N failed, N skipped".
log=$1
awk '
/Synthesis: Tested:/ {
    for (i = 1; i <= NF; i++) {
        if ($i == "Passing:") p += $(i + 1)
        if ($i == "Failing:") f += $(i + 1)
    }
    next
}
/^([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed/ {
    line = $0
    sub(/^[A-Za-z-]+: /, "", line)
    split(line, w, /[ ,]+/)
    p += w[1]; f += w[3]
    if (w[6] == "skipped") s += w[5]
}
END { printf "check: %d passed, %d failed, %d skipped\n", p, f, s }
' "$log"
