export * from './args.ts';
export * from './schema.ts';
export * from './envfile.ts';
export * from './docs.ts';
