#!/bin/sh
# SPDX-License-Identifier: MIT
# One command from a fresh Debian 12 machine (as root) to a result:
#   ./quickstart.sh demo    install, build, show the runtime choosing ICFs
#   ./quickstart.sh test    install, build, run every test (what CI runs)
#   ./quickstart.sh bench   install, build, run the benchmarks
#   ./quickstart.sh package build the Debian packages, lint them, install
#                           them on this machine and check the installed tree
set -eu
cd "$(dirname "$0")"
top=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)

# groff-base: make installcheck (in distcheck) formats every installed man page.
# redis-*, nginx, wrk, curl, iproute2 (ss): the real-server tests and make
# bench-servers, which start their own servers on private ports.
# libpmix-dev, openmpi-bin: EFs on the hosts of an mpirun launch (test/hosts
# makes network-namespace hosts and launches them with mpirun).
PACKAGES="build-essential autoconf automake libtool pkg-config libjemalloc-dev \
liburing-dev libcmocka-dev valgrind clang libclang-rt-14-dev gnuplot-nox \
python3 xz-utils coreutils make socat groff-base \
redis-server redis-tools nginx wrk curl iproute2 \
libpmix-dev openmpi-bin"
# Only for `package`: building, linting and checking the .debs.
PACKAGES_DEB="debhelper devscripts lintian dpkg-dev fakeroot man-db"

install_packages() {
	missing=""
	for p in $PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "quickstart: missing Debian packages:$missing (run as root to install them)" >&2
		exit 1
	fi
	echo "quickstart: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# build DIR [configure options...]: configure out of tree in DIR and make.
build() {
	dir=$1; shift
	[ -x "$top/configure" ] || autoreconf -fi "$top"
	mkdir -p "$dir"
	(cd "$dir" && "$top/configure" -q "$@" && make -s -j"$jobs")
}

# failed_logs DIR: the end of every failed test's log under DIR, then its
# failed checks (a CI report shows only the end of what is printed).
failed_logs() {
	find "$1" -name '*.trs' -exec grep -l -E '^:test-result: (FAIL|ERROR)' {} + 2>/dev/null |
	while read -r trs; do
		log=${trs%.trs}.log
		echo "---- $log: end"
		tail -n 60 "$log"
		echo "---- $log: failed checks"
		grep -E '^not ok' "$log" | head -n 20
	done
}

run_checks() {
	dir=$1; shift
	echo "== make check ($dir)"
	if ! (cd "$dir" && make -s -j"$jobs" check "$@"); then
		failed_logs "$dir"
		exit 1
	fi
}

cmd=${1:-}
case "$cmd" in
demo)
	install_packages
	build build
	cd build
	make -s examples/ef-demo
	./xos-run --list-icfs
	for policy in perf balanced isolation; do
		echo
		echo "== xos-run --explain --policy=$policy -- examples/ef-demo"
		./xos-run --explain --policy=$policy -- examples/ef-demo
	done
	;;
test)
	install_packages
	build build
	run_checks build
	echo "== valgrind on the unit tests"
	(cd build && make -s check-valgrind)
	echo "== AddressSanitizer + UndefinedBehaviorSanitizer build"
	build build-sanitizers --enable-sanitizers
	run_checks build-sanitizers
	echo "== make distcheck"
	(cd build && make -s -j"$jobs" distcheck >distcheck.log 2>&1) ||
		{ tail -n 80 build/distcheck.log; failed_logs build/xos-*/_build; exit 1; }
	echo "distcheck: ok"
	;;
bench)
	install_packages
	build build
	(cd build && make -s bench)
	;;
package)
	PACKAGES="$PACKAGES $PACKAGES_DEB"
	install_packages
	build build
	# Package what `make dist` ships, in a copy: the tree stays as it is.
	version=$(sed -n "s/^PACKAGE_VERSION='\(.*\)'$/\1/p" configure)
	rm -rf build/deb && mkdir -p build/deb
	(cd build && make -s dist >/dev/null && tar -C deb -xzf "xos-$version.tar.gz" && rm -f "xos-$version.tar.gz")
	echo "== dpkg-buildpackage -us -uc -b (in build/deb/xos-$version)"
	(cd "build/deb/xos-$version" && dpkg-buildpackage -us -uc -b >../build.log 2>&1) ||
		{ tail -n 60 build/deb/build.log; exit 1; }
	echo "== lintian"
	st=0
	lintian --fail-on error,warning -I build/deb/*.changes >build/deb/lintian.log 2>&1 || st=$?
	grep -v 'running with root privileges' build/deb/lintian.log || echo "lintian: no tag"
	[ "$st" -eq 0 ] || { echo "quickstart: lintian found errors or warnings" >&2; exit 1; }
	debs=$(ls build/deb/*.deb | grep -v -- '-dbgsym_')
	echo "== installing on this machine:" $debs
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --reinstall $(for d in $debs; do echo "./$d"; done) >/dev/null
	dpkg -l libxos1 libxos-dev xos-tools | tail -n 3
	echo "== installcheck against the installed packages"
	multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
	ROOT= SRCDIR=$top bindir=/usr/bin includedir=/usr/include libdir=/usr/lib/$multiarch \
		pkglibdir=/usr/lib/$multiarch/xos pkglibexecdir=/usr/libexec/xos mandir=/usr/share/man CC=cc \
		sh test/installcheck.sh
	;;
*)
	echo "usage: ./quickstart.sh demo|test|bench|package" >&2
	exit 2
	;;
esac
