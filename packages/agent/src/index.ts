export { createAgent, createSource } from './agent.ts';
export { createCollector } from './collect.ts';
export type { CycleItem, CycleSummary } from './collect.ts';
export { loadConfig } from './config.ts';
export type { Config } from './config.ts';
export { main } from './cli.ts';
export { createSpool } from './spool.ts';
export { runCommand } from './host.ts';
