/**
 * The sources, registered in one explicit list (DESIGN.md §7), and `auto`: `files` when /etc/pve is
 * there, else `pvesh`. "There" is checked without reading through pmxcfs: `.members` is looked up
 * by the helper process like every other /etc/pve access, with the pmxcfs deadline.
 */
export { createApiSource } from './api.ts';
export { createFilesSource } from './files.ts';
export { createPveshSource } from './pvesh.ts';
export type { Source } from './types.ts';
