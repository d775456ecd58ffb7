// Types of test-order.mjs for the runner's own tests (the runner itself is plain JavaScript).
export type Durations = Record<string, number>;
export function estimateSeconds(relPath: string): number;
export function orderLongestFirst(
  files: string[],
  durations: Durations,
  rel: (file: string) => string,
): string[];
export function readDurations(file: string): Durations;
export function writeDurations(file: string, previous: Durations, measured: Durations): void;
