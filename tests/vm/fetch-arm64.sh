#!/bin/sh
# Fetches what the aarch64 boot tests need and unpacks it into a cache
# directory, without installing anything for arm64 on this machine:
#
#   tests/vm/fetch-arm64.sh [DIR]      (default: target/vm-arm64)
#
# DIR/vmlinuz   Debian's arm64 cloud kernel (an arm64 boot Image)
# DIR/busybox   Debian's static arm64 busybox
#
# It enables the arm64 architecture in dpkg and refreshes apt's lists (both
# only add package lists; nothing is installed), then downloads the two
# packages with `apt-get download` and unpacks them with `dpkg-deb -x`.
# Never `apt-get install busybox-static:arm64`: that package would replace
# this machine's own /bin/busybox.
set -eu

dir=${1:-target/vm-arm64}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
# apt downloads as its own user (_apt) into a directory that user can write.
work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
mkdir "$work/deb" "$work/root"
chown _apt "$work/deb" 2>/dev/null || true

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    dpkg --add-architecture arm64
fi
apt-get update -qq

# The newest cloud kernel image of the 6.1 series, e.g.
# linux-image-6.1.0-57-cloud-arm64 (not the -unsigned or -dbg variants).
kernel=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-cloud-arm64$' \
    | cut -d' ' -f1 | sort -V | tail -n 1)
if [ -z "$kernel" ]; then
    echo "fetch-arm64.sh: no linux-image-6.1.0-*-cloud-arm64 package in apt's lists" >&2
    exit 1
fi

cd "$work/deb"
apt-get download "$kernel:arm64" busybox-static:arm64
for deb in ./*.deb; do
    dpkg-deb -x "$deb" "$work/root"
done

cp "$(ls "$work"/root/boot/vmlinuz-* | sort -V | tail -n 1)" "$dir/vmlinuz"
cp "$work/root/bin/busybox" "$dir/busybox"
echo "fetch-arm64.sh: $kernel and busybox-static:arm64 in $dir"
ls -l "$dir/vmlinuz" "$dir/busybox"
