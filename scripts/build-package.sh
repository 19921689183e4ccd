#!/usr/bin/env bash
# Builds dist/, what the npm package runs (npm pack and npm publish run it as `prepack`): the library, the CLI, the
# provider plugin and the lab compiled to JavaScript (tsconfig.build.json, with type declarations), next to the files
# they read at run time, laid out as in the repository so that every path the code derives from __dirname holds:
# templates/ (facet scripts, the verification programs), schemas/, the lab's shell scripts, the bench's playbook.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

rm -rf dist
node_modules/.bin/tsc -p tsconfig.build.json
cp -R templates dist/templates
mkdir -p dist/schemas dist/bench/ansible
cp schemas/*.json dist/schemas/
cp lab/*.sh dist/lab/
cp bench/ansible/site.yml dist/bench/ansible/
chmod 755 dist/cli/main.js
printf 'build: dist/ ready (%s files)\n' "$(find dist -type f | wc -l)" >&2
