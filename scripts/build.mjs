#!/usr/bin/env node
// Builds the runnable bundles with esbuild. Tests run the TypeScript sources through tsx; the
// bundles are what a user runs (`npx nannyapi`, `npx nannyagent`, `npx pve-sim`, the simulator's
// pvesh) — one file each, so start-up is one module load and no TypeScript at run time.
// The agent bundle carries everything it needs: a Proxmox host has no npm (DESIGN.md §4).
import { build } from 'esbuild';
import { existsSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

/** Third-party packages stay external for server-side bundles (native modules, large trees). */
function thirdPartyDeps(pkgDir) {
  const pkg = JSON.parse(readFileSync(join(root, pkgDir, 'package.json'), 'utf8'));
  return Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }).filter((d) => !d.startsWith('@nanny/'));
}

const entries = [
  {
    pkg: 'packages/agent',
    src: 'src/main.ts',
    out: 'dist/nannyagent.mjs',
    target: 'node18',
    bundleAll: true,
  },
  { pkg: 'packages/api', src: 'src/main.ts', out: 'dist/nannyapi.mjs', target: 'node20' },
  { pkg: 'packages/pve-sim', src: 'src/main.ts', out: 'dist/pve-sim.mjs', target: 'node20' },
  { pkg: 'packages/pve-sim', src: 'src/tools-main.ts', out: 'dist/pve-tools.mjs', target: 'node20' },
];

const banner =
  "import { createRequire as __nannyCreateRequire } from 'node:module'; const require = __nannyCreateRequire(import.meta.url);";
let built = 0;
for (const e of entries) {
  const src = join(root, e.pkg, e.src);
  if (!existsSync(src)) continue;
  await build({
    entryPoints: [src],
    outfile: join(root, e.pkg, e.out),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: e.target,
    sourcemap: 'linked',
    external: e.bundleAll ? [] : thirdPartyDeps(e.pkg),
    banner: { js: banner },
    logLevel: 'warning',
  });
  built++;
}
// The dashboard: browser code (packages/web/src/ui, TypeScript) into packages/web/dist/app.js and
// app.css (uPlot's stylesheet), served by nannyapi beside packages/web/public. Its budget is checked
// here: a build over it fails, so the page cannot grow unnoticed.
const WEB_BUDGET_GZIP_BYTES = 150 * 1024;
const webEntry = join(root, 'packages/web/src/ui/main.ts');
if (existsSync(webEntry)) {
  const outdir = join(root, 'packages/web/dist');
  await build({
    entryPoints: { app: webEntry },
    outdir,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: ['chrome109', 'firefox115', 'safari16'],
    minify: true,
    sourcemap: 'linked',
    legalComments: 'linked',
    logLevel: 'warning',
  });
  built++;
  let total = 0;
  const parts = [];
  for (const f of ['app.js', 'app.css']) {
    const p = join(outdir, f);
    if (!existsSync(p)) continue;
    const body = readFileSync(p);
    const gz = gzipSync(body, { level: 9 }).length;
    total += gz;
    parts.push(`${f} ${(body.length / 1024).toFixed(1)} KB (${(gz / 1024).toFixed(1)} KB gzip)`);
  }
  console.log(
    `build: dashboard ${parts.join(', ')}; ${(total / 1024).toFixed(1)} KB gzip of ${WEB_BUDGET_GZIP_BYTES / 1024} KB budget`,
  );
  if (total > WEB_BUDGET_GZIP_BYTES) {
    console.error(`build: the dashboard is over its budget (${total} > ${WEB_BUDGET_GZIP_BYTES} bytes gzip)`);
    process.exit(1);
  }
}
console.log(`build: ${built} bundle(s) written`);
