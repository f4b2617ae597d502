#!/bin/sh
# Packaging test: stage `make install`, build tests/package/consumer.c out of
# tree with nothing but pkg-config (shared and static), run both, check that
# the shared object exports only p2p_* symbols and that every public header
# compiles as C11 and as C++17. Usage: check.sh BUILD_DIR
set -eu
build=${1:-${EP_BUILD:-build}}
top=$(pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
prefix=/usr/local

make -s install BUILD="$build" PREFIX=$prefix DESTDIR="$stage" >/dev/null
export PKG_CONFIG_PATH="$stage$prefix/lib/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="$stage"
ver=$(pkg-config --modversion libethp2p)
# The README (Linking) says a staged install needs PKG_CONFIG_SYSROOT_DIR:
# without it the flags name the final prefix, with it the stage.
case "$(env -u PKG_CONFIG_SYSROOT_DIR pkg-config --cflags libethp2p)" in
  *"$stage"*) echo "package: flags reach the stage without PKG_CONFIG_SYSROOT_DIR (README out of date)"; exit 1 ;;
esac
case "$(pkg-config --cflags libethp2p)" in
  "-I$stage$prefix/include"*) ;;
  *) echo "package: PKG_CONFIG_SYSROOT_DIR did not point the flags at the stage"; exit 1 ;;
esac
echo "package: staged libethp2p $ver"
for f in lib/libethp2p.so lib/libethp2p.so.0 lib/libethp2p.a include/ethp2p/ethp2p.h include/ethp2p/rlp.h include/ethp2p/types.h include/ethp2p/sync.h lib/pkgconfig/libethp2p.pc; do
  [ -e "$stage$prefix/$f" ] || { echo "package: missing $f after install"; exit 1; }
done
soname=$(objdump -p "$stage$prefix/lib/libethp2p.so" | awk '/SONAME/ {print $2}')
[ "$soname" = "libethp2p.so.0" ] || { echo "package: soname is '$soname'"; exit 1; }

work=$(mktemp -d -p "$stage")
cp tests/package/consumer.c "$work/"
cd "$work"
# shared
cc -std=c11 -Wall -Wextra -Werror consumer.c -o consumer $(pkg-config --cflags --libs libethp2p)
LD_LIBRARY_PATH="$stage$prefix/lib" ./consumer
ldd_out=$(LD_LIBRARY_PATH="$stage$prefix/lib" ldd ./consumer)
echo "$ldd_out" | grep -q "libethp2p.so.0 => $stage" || { echo "package: consumer not linked to the staged .so"; exit 1; }
# static: the archive plus the private dependencies pkg-config lists
libs=$(pkg-config --static --libs libethp2p | sed 's/-lethp2p/-l:libethp2p.a/')
cc -std=c11 -Wall -Wextra -Werror consumer.c -o consumer-static $(pkg-config --cflags libethp2p) $libs
if ldd ./consumer-static | grep -q libethp2p; then echo "package: static build still needs libethp2p.so"; exit 1; fi
./consumer-static
cd "$top"

# exported symbols
bad=$(nm -D --defined-only "$stage$prefix/lib/libethp2p.so" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | grep -v '^p2p_' || true)
[ -z "$bad" ] || { echo "package: non-p2p_ symbols exported:"; echo "$bad"; exit 1; }
echo "package: only p2p_* symbols exported ($(nm -D --defined-only "$stage$prefix/lib/libethp2p.so" | grep -c ' T p2p_') functions)"
# and no test-only hook is compiled into what is installed
sh "$top/tests/package/no_test_hooks.sh" "$stage$prefix/lib/libethp2p.so" "$stage$prefix/lib/libethp2p.a"

# headers as C11 and C++17, from the staged include dir only
inc="-I$stage$prefix/include"
cc -std=c11 -Wall -Wextra -Werror -pedantic $inc -c tests/package/headers.c -o "$stage/h.o"
c++ -std=c++17 -Wall -Wextra -Werror -pedantic $inc -x c++ -c tests/package/headers.c -o "$stage/hpp.o"
for h in "$stage$prefix"/include/ethp2p/*.h; do
  printf '#include <ethp2p/%s>\n' "$(basename "$h")" > "$stage/one.c"
  cc -std=c11 -Wall -Wextra -Werror -pedantic $inc -fsyntax-only "$stage/one.c"
  c++ -std=c++17 -Wall -Wextra -Werror -pedantic $inc -fsyntax-only -x c++ "$stage/one.c"
done
echo "package: headers compile as C11 and C++17"

# uninstall leaves nothing behind
make -s uninstall BUILD="$build" PREFIX=$prefix DESTDIR="$stage" >/dev/null
left=$(find "$stage$prefix" -type f | grep -v "$work" || true)
[ -z "$left" ] || { echo "package: left after uninstall:"; echo "$left"; exit 1; }
echo "package: install, pkg-config (shared + static), exports, headers, uninstall: ok"
