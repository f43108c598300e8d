// The shared cache as the rest of Spindle sees it; the modules beside this one are its parts.
export { SharedCache, type CacheStats, type SetOptions, type Clock } from './shared-cache.js';
