// The transport contract and the pure helpers every driver and the driver loop share; drivers have their own subpaths.
export * from './types.ts';
export { backoffDelay, type BackoffOptions } from './backoff.ts';
export { ERROR_MSG_TYPE, errorMessage, isErrorMessage, PROBLEM_TYPES } from './error-msg.ts';
