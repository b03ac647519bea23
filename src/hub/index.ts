/** Hugging Face Hub client sharing Python's cache layout. */
export { resolveModel, type ResolveModelOptions } from './resolve-model.js';
export type { DownloadProgress, ProgressCallback } from './progress.js';
export { hfHome, hubCacheDir, resolveHubSettings, type HubEnv, type HubSettings } from './settings.js';
export { RepoCache } from './cache-layout.js';
export { parseModelRef, repoFolderName, type ModelRef } from './repo-id.js';
export { HubConnectionError } from './http.js';
