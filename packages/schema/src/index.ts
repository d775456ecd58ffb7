export * from './common.ts';
export * from './payloads.ts';
export * from './ops.ts';
export * from './normalize.ts';
export * from './validate.ts';
export * from './registration.ts';
export * from './read-models.ts';
export * from './storage.ts';
