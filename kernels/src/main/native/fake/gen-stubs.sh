#!/bin/sh
# Writes a C++ file with a weak stub for every name in a symbol list; the implemented entry
# points are strong definitions elsewhere in the same library and win at link time.
#   gen-stubs.sh <symbol list> <handler> > stubs.cpp
list=$1 handler=$2
echo "// generated from $(basename "$list") by gen-stubs.sh"
echo "extern \"C\" int $handler(const char*);"
while read -r name; do
  [ -n "$name" ] && echo "extern \"C\" __attribute__((weak, visibility(\"default\"))) int $name(...) { return $handler(\"$name\"); }"
done < "$list"
