/** @nanny/api for other packages and tests: build the app, read the settings, run the CLI. */
export { buildApp, type AppDeps, type BuildOptions, type SetupInfo } from './app.ts';
export { bootstrap, launch, type LaunchOptions } from './bootstrap.ts';
export { API_SETTINGS, loadConfig, testConfig, type ApiConfig } from './config.ts';
export { runCli, type CliIo } from './cli.ts';
export type { ApiModule, ModuleInstance, ModuleContext, CliCommand, CliContext } from './module-contract.ts';
export type { IngestListener, IngestRecord } from './ingest/listeners.ts';
export type { Storage, FleetEvent } from './storage/storage.ts';
