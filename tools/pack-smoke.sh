#!/usr/bin/env bash
# Packs onnx-cil as `npm publish` would, installs the tarball into an empty project without network and without
# onnxruntime's CUDA download, and uses it there as a stranger would: the CLI (--help, a tiny run, export), the
# library and the app API from Node, and the app's types under NodeNext and bundler resolution.
#
#   bash tools/pack-smoke.sh            # from the repository root, after `npm ci`; KEEP=1 keeps the project
#
# Offline works because `npm ci` in the repository filled npm's cache with every tarball: the project gets a lock
# file made from the repository's own (its production entries plus the tarball), so `npm ci --offline` needs no
# registry metadata, only those cached tarballs. Exits non-zero on the first failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/onnx-cil-pack.XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then echo "pack-smoke: project kept in $work"; else trap 'rm -rf "$work"' EXIT; fi
# The CPU build is all the smoke test needs; onnxruntime-node's installer would otherwise fetch the CUDA 12 provider.
export ONNXRUNTIME_NODE_INSTALL=skip npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
t0=$SECONDS
step() { echo "pack-smoke: $* ($((SECONDS - t0)) s)"; }

step "npm pack (prepack compiles dist/)"
if ! (cd "$root" && npm pack --silent --pack-destination "$work") >"$work/pack.log" 2>&1; then
  echo "pack-smoke: npm pack failed:" >&2
  cat "$work/pack.log" >&2
  exit 1
fi
tarball=$(tail -n 1 "$work/pack.log")
[ -f "$work/$tarball" ] || { echo "pack-smoke: npm pack wrote no tarball" >&2; cat "$work/pack.log" >&2; exit 1; }
listing=$(tar -tzf "$work/$tarball")
for f in package/dist/index.js package/dist/cli/main.js package/dist/app/node.js package/dist/app/browser.d.ts \
  package/models/convnet.json package/presets/fmnist-mini-b5-p5.yaml package/data/fashion-mnist-mini/train-images-idx3-ubyte.gz; do
  grep -qx "$f" <<<"$listing" || { echo "pack-smoke: $tarball lacks $f" >&2; exit 1; }
done
if grep -qE '^package/(src|test|tools|dist/src)/' <<<"$listing"; then
  echo "pack-smoke: $tarball ships sources or a nested dist/src:" >&2
  grep -E '^package/(src|test|tools|dist/src)/' <<<"$listing" | head -5 >&2
  exit 1
fi

app=$work/app
mkdir "$app"
tar -xzOf "$work/$tarball" package/package.json >"$work/manifest.json"
node - "$root/package-lock.json" "$work/manifest.json" "$work/$tarball" "$app" <<'EOF'
// The consumer's package.json and package-lock.json: the tarball, plus the repository lock's production entries.
const { createHash } = require('node:crypto');
const { readFileSync, writeFileSync } = require('node:fs');
const { basename, join, relative } = require('node:path');
const [lockPath, manifestPath, tarball, app] = process.argv.slice(2);
const lock = JSON.parse(readFileSync(lockPath, 'utf8'));
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
const spec = `file:${relative(app, tarball)}`;
const packages = {
  '': { name: 'onnx-cil-consumer', version: '1.0.0', dependencies: { 'onnx-cil': spec } },
  'node_modules/onnx-cil': {
    version: manifest.version,
    resolved: spec,
    integrity: `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`,
    license: manifest.license,
    dependencies: manifest.dependencies,
    bin: manifest.bin,
    engines: manifest.engines,
  },
};
for (const [path, entry] of Object.entries(lock.packages)) {
  if (path !== '' && !entry.dev) packages[path] = entry;
}
const pkg = { name: 'onnx-cil-consumer', version: '1.0.0', private: true, type: 'module', dependencies: { 'onnx-cil': spec } };
writeFileSync(join(app, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
writeFileSync(join(app, 'package-lock.json'), JSON.stringify({ name: pkg.name, version: pkg.version, lockfileVersion: 3, requires: true, packages }, null, 2) + '\n');
console.log(`pack-smoke: ${basename(tarball)} + ${Object.keys(packages).length - 2} production packages from the repository's lock`);
EOF

cd "$app"
step "npm ci --offline in $app"
npm ci --offline --no-audit --no-fund --loglevel=error
[ ! -e node_modules/onnx-cil/src ] || { echo "pack-smoke: the installed package has src/" >&2; exit 1; }

step "npx onnx-cil --help"
npx onnx-cil --help >help.txt
grep -q 'onnx-cil run' help.txt || { echo "pack-smoke: --help does not list run:" >&2; cat help.txt >&2; exit 1; }

step "npx onnx-cil run (embedded Fashion-MNIST subset, 2% of the epochs)"
npx onnx-cil run --epochs-scale 0.02 --threads 2 --out smoke-run --json >run.json 2>run.log ||
  { echo "pack-smoke: onnx-cil run failed:" >&2; tail -n 20 run.log >&2; exit 1; }
node -e '
const r = JSON.parse(require("node:fs").readFileSync("run.json", "utf8"));
const acc = r.averageIncrementalAccuracy ?? r.metrics?.averageIncrementalAccuracy;
if (typeof acc !== "number" || !(acc > 0.1)) throw new Error("run.json has no plausible averageIncrementalAccuracy: " + JSON.stringify(r).slice(0, 300));
console.log("pack-smoke: run finished, average incremental accuracy " + (100 * acc).toFixed(1) + "%");
'
[ -f smoke-run/report.html ] || { echo "pack-smoke: the run wrote no report.html" >&2; exit 1; }

step "npx onnx-cil export"
npx onnx-cil export --from smoke-run --out model.onnx --input uint8-rgba >/dev/null

step "import('onnx-cil') and import('onnx-cil/app') in Node"
node --input-type=module -e '
const lib = await import("onnx-cil");
if (lib.getModelSpec("convnet").name !== "convnet" || typeof lib.buildTrainingGraph !== "function") throw new Error("onnx-cil exports are incomplete");
const { loadClassifier } = await import("onnx-cil/app");
const clf = await loadClassifier("model.onnx");
const data = new Uint8Array(28 * 28 * 4).fill(255);
const top = await clf.classify({ data, width: 28, height: 28 }, { topK: 2 });
if (top.length !== 2 || !clf.classNames.includes(top[0].label)) throw new Error("classify returned " + JSON.stringify(top));
await clf.addClasses([{ label: "Blank", images: [{ data, width: 28, height: 28 }] }]);
await clf.save("model-plus.onnx");
const again = await loadClassifier("model-plus.onnx");
if (!again.classNames.includes("Blank")) throw new Error("the saved model lost the added class");
console.log("pack-smoke: classify -> " + top[0].label + "; " + again.classNames.length + " classes after addClasses + save");
'

step "TypeScript: onnx-cil/app types by module resolution"
# Node-targeting settings must see the Node API (save(), file paths); plain bundler resolution the browser API.
cat >node-app.ts <<'EOF'
import { loadClassifier } from 'onnx-cil/app';
const clf = await loadClassifier('model.onnx');
await clf.save('copy.onnx');
EOF
cat >node-subpath.ts <<'EOF'
import { loadClassifier } from 'onnx-cil/app/node';
const clf = await loadClassifier('model.onnx');
await clf.save('copy.onnx');
EOF
cat >browser-app.ts <<'EOF'
import { loadClassifier } from 'onnx-cil/app';
const clf = await loadClassifier(new Uint8Array(0));
const canvas = document.createElement('canvas');
await clf.classify(canvas);
// @ts-expect-error: the browser API has no save()
await clf.save('copy.onnx');
EOF
cat >library.ts <<'EOF'
import { getModelSpec, GraphBuilder } from 'onnx-cil';
const spec: { name: string } = getModelSpec('convnet');
new GraphBuilder();
console.log(spec.name);
EOF
tsc=$root/node_modules/typescript/bin/tsc
typecheck() { # name module resolution conditions files...
  local name=$1 module=$2 resolution=$3 conditions=$4
  shift 4
  local files
  files=$(printf '"%s",' "$@")
  cat >"tsconfig.$name.json" <<EOF
{ "compilerOptions": { "module": "$module", "moduleResolution": "$resolution", "customConditions": $conditions,
    "target": "ES2022", "lib": ["ES2022", "DOM"], "strict": true, "noEmit": true, "skipLibCheck": true,
    "types": ["node"], "typeRoots": ["$root/node_modules/@types"] },
  "files": [${files%,}] }
EOF
  node "$tsc" -p "tsconfig.$name.json" || { echo "pack-smoke: TypeScript ($name) failed" >&2; exit 1; }
}
typecheck nodenext NodeNext NodeNext '[]' node-app.ts library.ts
typecheck bundler-node ESNext Bundler '["node"]' node-app.ts library.ts
typecheck bundler-subpath ESNext Bundler '[]' node-subpath.ts library.ts
typecheck bundler-browser ESNext Bundler '[]' browser-app.ts

step "done"
