// What a program that embeds Spindle imports from 'spindle/server': start() and its types.
// `const server = await start({ app: './app.js', processes: 4 })` … `await server.close()`.
export { start, type StartOptions, type RunningServer } from './master/start.js';
export type { ScaleResult } from './master/scaler.js';
export type { ServerStats } from './master/stats-views.js';
export { SpindleError, ERROR_CODES, EXIT, type ErrorCode } from './errors.js';
