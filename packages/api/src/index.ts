/** @nanny/api for other packages and tests: build the app, read the settings, run the CLI. */
export { buildApp, bootstrap, type BuildOptions, type SetupInfo } from './app.ts';
export { API_SETTINGS, loadConfig, testConfig, type ApiConfig } from './config.ts';
export { runCli, type CliIo } from './cli.ts';
export type { ApiModule, ModuleContext, CliCommand, CliContext } from './modules.ts';
export type { IngestListener, IngestRecord } from './ingest/listeners.ts';
export type { Storage, FleetEvent } from './storage/storage.ts';
