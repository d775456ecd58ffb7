/** The text of anything thrown (an Error's message, else its string form): the simulator's one helper. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
