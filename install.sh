#!/bin/sh
# Install mkvenv from its GitHub release, checked against the release's SHA256SUMS:
#
#   curl -fsSL https://github.com/mkvenv/mkvenv/releases/latest/download/install.sh | sh
#
# Environment:
#   MKVENV_VERSION       the release to install, e.g. 0.1.0 (default: the latest)
#   MKVENV_INSTALL_DIR   where to put the mkvenv binary (default: ~/.local/bin)
#   MKVENV_DOWNLOAD_URL  where the releases are (default: the GitHub releases of mkvenv):
#                        URL/download/vVERSION/FILE, URL/latest/download/FILE
#
# The archive for this system is downloaded to a temporary directory and its SHA-256 compared
# with the release's SHA256SUMS; only then is the binary tried and moved into place (one
# rename), so a failure at any step leaves nothing installed and an older mkvenv untouched.
# The script only defines functions until its last line, so a partial download runs nothing.
set -eu

# The repository the release workflow publishes from (it writes its own name here).
MKVENV_REPOSITORY=mkvenv/mkvenv

say() {
  printf 'mkvenv-install: %s\n' "$*" >&2
}

fail() {
  printf 'mkvenv-install: error: %s\n' "$*" >&2
  exit 1
}

# The release target of this machine, as the archives name it.
detect_target() {
  os=$(uname -s)
  arch=$(uname -m)
  case $os in
    Linux) os_part=unknown-linux-gnu ;;
    Darwin) os_part=apple-darwin ;;
    MINGW* | MSYS* | CYGWIN* | Windows_NT) os_part=pc-windows-msvc ;;
    *) fail "Cannot install mkvenv on \"$os\": release binaries exist for Linux, macOS and Windows only" ;;
  esac
  case $arch in
    x86_64 | amd64) arch_part=x86_64 ;;
    aarch64 | arm64 | ARM64) arch_part=aarch64 ;;
    *) fail "Cannot install mkvenv on \"$arch\" ($os): release binaries exist for x86_64 and aarch64 only" ;;
  esac
  # A shell under Rosetta reports x86_64 on Apple silicon: the native binary is the better one.
  if [ "$os_part" = apple-darwin ] && [ "$arch_part" = x86_64 ] &&
    [ "$(sysctl -n hw.optional.arm64 2>/dev/null || true)" = 1 ]; then
    arch_part=aarch64
  fi
  target="$arch_part-$os_part"
}

# download URL FILE
download() {
  case $1 in
    https://*) proto="=https" ;;
    *) proto="=https,http,file" ;;
  esac
  if command -v curl >/dev/null 2>&1; then
    curl --proto "$proto" --proto-redir "$proto" -fsSL --retry 3 -o "$2" "$1" || return 1
  elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$2" "$1" || return 1
  else
    fail "Cannot download mkvenv: neither curl nor wget is installed; install one and run again"
  fi
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d ' ' -f 1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d ' ' -f 1
  elif command -v openssl >/dev/null 2>&1; then
    openssl dgst -sha256 -r "$1" | cut -d ' ' -f 1
  else
    fail "Cannot check the download: none of sha256sum, shasum or openssl is installed; install one and run again"
  fi
}

cleanup() {
  if [ -n "${tmp:-}" ]; then rm -rf "$tmp"; fi
  if [ -n "${partial:-}" ]; then rm -f "$partial"; fi
}

main() {
  base=${MKVENV_DOWNLOAD_URL:-https://github.com/$MKVENV_REPOSITORY/releases}
  base=${base%/}
  version=${MKVENV_VERSION:-latest}
  version=${version#v}
  case $version in
    latest) ;;
    '' | *[!0-9A-Za-z.+-]*) fail "Cannot install mkvenv version \"${MKVENV_VERSION:-}\": expected a version such as 0.1.0, or latest" ;;
  esac
  if [ -n "${MKVENV_INSTALL_DIR:-}" ]; then
    dir=$MKVENV_INSTALL_DIR
  elif [ -n "${HOME:-}" ]; then
    dir=$HOME/.local/bin
  else
    fail "Cannot choose where to install mkvenv: HOME is not set; set MKVENV_INSTALL_DIR"
  fi

  detect_target
  case $target in
    *-windows-msvc) ext=zip exe=mkvenv.exe ;;
    *) ext=tar.gz exe=mkvenv ;;
  esac

  tmp=$(mktemp -d 2>/dev/null || mktemp -d -t mkvenv-install)
  partial=
  trap cleanup EXIT
  trap 'cleanup; exit 130' INT
  trap 'cleanup; exit 143' TERM

  if [ "$version" = latest ]; then
    sums_url=$base/latest/download/SHA256SUMS
  else
    sums_url=$base/download/v$version/SHA256SUMS
  fi
  download "$sums_url" "$tmp/SHA256SUMS" ||
    fail "Cannot download $sums_url: no such release, or no network (check MKVENV_VERSION)"

  if [ "$version" = latest ]; then
    asset=$(awk -v t="-$target.$ext" '{ n = $2; sub(/^\*/, "", n) }
      substr(n, 1, 7) == "mkvenv-" && substr(n, length(n) - length(t) + 1) == t { print n; exit }' \
      "$tmp/SHA256SUMS")
    [ -n "$asset" ] || fail "Cannot install mkvenv: the latest release has no binary for $target"
    version=${asset#mkvenv-}
    version=${version%"-$target.$ext"}
  else
    asset=mkvenv-$version-$target.$ext
  fi
  expected=$(awk -v a="$asset" '$2 == a || $2 == "*" a { print $1; exit }' "$tmp/SHA256SUMS")
  [ -n "$expected" ] ||
    fail "Cannot install mkvenv $version: the release has no binary for $target ($asset is not in SHA256SUMS)"

  url=$base/download/v$version/$asset
  say "downloading $url"
  download "$url" "$tmp/$asset" || fail "Cannot download $url"
  actual=$(sha256_of "$tmp/$asset")
  if [ "$actual" != "$expected" ]; then
    fail "Cannot install mkvenv: $asset does not match SHA256SUMS (expected $expected, got $actual); the download is damaged or was tampered with, and nothing was installed"
  fi

  mkdir "$tmp/unpacked"
  case $ext in
    zip)
      command -v unzip >/dev/null 2>&1 || fail "Cannot unpack $asset: unzip is not installed; install it and run again"
      unzip -q "$tmp/$asset" -d "$tmp/unpacked" || fail "Cannot unpack $asset"
      ;;
    *) tar -xzf "$tmp/$asset" -C "$tmp/unpacked" || fail "Cannot unpack $asset" ;;
  esac
  [ -f "$tmp/unpacked/$exe" ] || fail "Cannot install mkvenv: $asset holds no $exe"
  chmod 755 "$tmp/unpacked/$exe"
  if ! ran=$("$tmp/unpacked/$exe" --version 2>&1); then
    fail "Cannot install mkvenv: the downloaded binary does not run here: $ran"
  fi

  mkdir -p "$dir" || fail "Cannot create \"$dir\"; set MKVENV_INSTALL_DIR to a directory you can write"
  partial=$dir/.$exe.partial.$$
  cp "$tmp/unpacked/$exe" "$partial" || fail "Cannot write to \"$dir\"; set MKVENV_INSTALL_DIR to a directory you can write"
  mv -f "$partial" "$dir/$exe" || fail "Cannot write \"$dir/$exe\""
  partial=
  say "installed $ran to $dir/$exe"
  case ":${PATH:-}:" in
    *":$dir:"*) ;;
    *) say "$dir is not on PATH; add it, e.g. export PATH=\"$dir:\$PATH\"" ;;
  esac
}

main
