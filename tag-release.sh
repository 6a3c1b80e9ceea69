#!/usr/bin/env bash
# tag-release.sh — the annotated tag vX.Y.Z for the version being released.
#
# Tags HEAD with v$VERSION, where VERSION is Cargo.toml's, after checking:
#   - the first version heading of CHANGELOG.md ("## [X.Y.Z] - DATE",
#     an "## [Unreleased]" heading above it is allowed) is that version
#     and is not marked "unreleased";
#   - the tag does not exist yet;
#   - the work tree has no uncommitted change to tracked files, so the tag
#     names exactly what was checked.
# The tag's message is "going X.Y.Z (DATE)" and that version's CHANGELOG
# section. Nothing is pushed.
#
# Usage: ./tag-release.sh [-n]     -n: check and print, tag nothing
# Exit status: 0 tagged (or would tag), 1 a check failed.

set -euo pipefail

cd "$(dirname "$0")"

die() { echo "tag-release: $*" >&2; exit 1; }

dry=0
case ${1:-} in
    -n) dry=1 ;;
    "") ;;
    *) echo "usage: $0 [-n]" >&2; exit 1 ;;
esac

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "no X.Y.Z version in Cargo.toml (found \"$version\")"

# The first "## [X.Y.Z]" heading, skipping "## [Unreleased]".
heading=$(grep -m 1 -E '^## \[[0-9]+\.[0-9]+\.[0-9]+\]' CHANGELOG.md) \
    || die "CHANGELOG.md has no \"## [X.Y.Z] - DATE\" heading"
top=${heading#'## ['}
top=${top%%]*}
[[ $top == "$version" ]] \
    || die "CHANGELOG.md's latest version is $top, Cargo.toml says $version"
shopt -s nocasematch
[[ $heading != *unreleased* ]] \
    || die "CHANGELOG.md still marks $version unreleased: \"$heading\""
shopt -u nocasematch
date=$(sed -n 's/^## \[[^]]*\] - \([0-9-]*\).*/\1/p' <<<"$heading")
[[ -n $date ]] || die "CHANGELOG.md's heading for $version has no date: \"$heading\""

tag=v$version
if git rev-parse -q --verify "refs/tags/$tag" >/dev/null; then
    die "tag $tag exists already (on $(git rev-list -n 1 "$tag" | cut -c1-12))"
fi
git diff --quiet HEAD -- || die "uncommitted changes to tracked files; commit them first"

# This version's section: from its heading to the next "## [" heading.
notes=$(awk -v h="$heading" '
    $0 == h { on = 1; next }
    on && /^## \[/ { exit }
    on { print }
' CHANGELOG.md | sed -e '/./,$!d')

if (( dry )); then
    echo "tag-release: would tag $(git rev-parse --short HEAD) as $tag: going $version ($date)"
    exit 0
fi
git tag -a "$tag" -m "going $version ($date)" -m "$notes"
echo "tag-release: tagged $(git rev-parse --short HEAD) as $tag; push it with: git push origin $tag"
