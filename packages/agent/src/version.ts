/** Reported as `agent_version`; keep in step with packages/agent/package.json. */
export const AGENT_VERSION = '0.1.0';
