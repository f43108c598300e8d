// The package's public API: programmatic embedding (start) and the runtime API apps import.
export { SpindleError, ERROR_CODES, EXIT } from './errors.js';
