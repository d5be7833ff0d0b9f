#!/usr/bin/env bash
# Prints the `helm --set-file` arguments that put every file of a contracts directory into the
# chart's contracts ConfigMap (contracts.files), keeping subdirectories. For the CI job of a
# rules-in-git repository:
#
#   helm upgrade --install meshgate deploy/helm/meshgate -f prod-values.yaml \
#     $(deploy/helm/contracts-args.sh contracts/)
#
# --set-file reads each file as it is (no YAML escaping to get wrong). In helm's --set syntax
# "." separates keys, so dots in file names are escaped; names with , = [ ] \ or whitespace are
# refused rather than mangled.
set -euo pipefail
dir=${1:?usage: contracts-args.sh DIR}
[ -d "$dir" ] || { echo "contracts-args: $dir is not a directory" >&2; exit 2; }
cd "$dir"
find . -type f ! -path '*/.*' | LC_ALL=C sort | while IFS= read -r f; do
  rel=${f#./}
  case "$rel" in
    *[,=\[\]\\[:space:]]*) echo "contracts-args: unsupported character in file name: $rel" >&2; exit 2 ;;
  esac
  printf -- '--set-file\ncontracts.files.%s=%s\n' "${rel//./\\.}" "$(pwd)/$rel"
done
