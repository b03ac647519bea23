/** Hub model ids and revisions: validation with the same rules as `huggingface_hub`, and their cache names. */
import { InputError } from '../errors.js';

export const DEFAULT_REVISION = 'main';

const COMMIT_HASH = /^[0-9a-f]{40}$/;
/** An optional namespace and a name, each starting and ending with a word character (Python's rule). */
const REPO_ID = /^(?:\b[\w.-]+\b\/)?\b[\w.-]{1,96}\b$/;

export interface ModelRef {
  repoId: string;
  revision: string;
}

export function isCommitHash(revision: string): boolean {
  return COMMIT_HASH.test(revision);
}

/** `org/name` → `models--org--name`, the folder name Python gives a model repo in the cache. */
export function repoFolderName(repoId: string): string {
  return ['models', ...repoId.split('/')].join('--');
}

/**
 * Parses `org/name`, `name` or `org/name@revision`. An explicit `revision` option wins over none in the id, and
 * conflicting revisions are an error rather than a silent choice.
 */
export function parseModelRef(id: string, revision?: string, argument = 'model'): ModelRef {
  const at = id.indexOf('@');
  const repoId = at === -1 ? id : id.slice(0, at);
  const inlineRevision = at === -1 ? undefined : id.slice(at + 1);
  if (!REPO_ID.test(repoId) || repoId.includes('--') || repoId.includes('..') || repoId.endsWith('.git')) {
    throw new InputError(
      `${argument}: "${id}" is neither an existing folder nor a valid Hub model id ("org/name" or "name", ` +
        `letters, digits, "-", "_" and ".", optionally followed by "@revision")`,
      { argument },
    );
  }
  if (inlineRevision !== undefined && inlineRevision === '') {
    throw new InputError(`${argument}: "${id}" has an empty revision after "@"`, { argument });
  }
  if (inlineRevision !== undefined && revision !== undefined && inlineRevision !== revision) {
    throw new InputError(
      `${argument}: "${id}" names revision "${inlineRevision}" but the revision option says "${revision}"`,
      { argument: 'revision' },
    );
  }
  const chosen = revision ?? inlineRevision ?? DEFAULT_REVISION;
  if (chosen === '' || chosen.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw new InputError(`revision: "${chosen}" is not a valid branch, tag or commit`, {
      argument: 'revision',
    });
  }
  return { repoId, revision: chosen };
}
