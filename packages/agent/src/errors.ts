/** The agent's error catalogue: stable codes, `cause` kept (DESIGN.md §7). */
export type AgentErrorCode =
  | 'AGENT_CONFIG' // invalid configuration
  | 'AGENT_TIMEOUT' // a spawn, a pmxcfs read or a request ran out of time
  | 'AGENT_COMMAND' // a command exited non-zero
  | 'AGENT_PMXCFS' // a read of /etc/pve failed (not a timeout)
  | 'AGENT_SOURCE' // a source cannot answer this path
  | 'AGENT_HTTP' // transport error talking to nannyapi or the PVE API
  | 'AGENT_TLS' // certificate pin mismatch, plain HTTP refused
  | 'AGENT_NOT_REGISTERED'
  | 'AGENT_STATE' // the state directory or a file in it is unsafe (owner, mode, symbolic link)
  | 'AGENT_REGISTER';

export class AgentError extends Error {
  constructor(
    readonly code: AgentErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AgentError';
  }
}

export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
