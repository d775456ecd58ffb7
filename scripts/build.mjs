#!/usr/bin/env node
// Builds the runnable bundles with esbuild. Tests run the TypeScript sources through tsx; the
// bundles are what a user runs (`npx nannyapi`, `npx nannyagent`, `npx pve-sim`, the simulator's
// pvesh) — one file each, so start-up is one module load and no TypeScript at run time.
// The agent bundle carries everything it needs: a Proxmox host has no npm (DESIGN.md §4).
import { build } from 'esbuild';
import { existsSync, readFileSync } from 'node:fs';
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
console.log(`build: ${built} bundle(s) written`);
