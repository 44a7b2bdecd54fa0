import {
  resolveSafeChildPath,
  UrlReaderService,
} from '@backstage/backend-plugin-api';
import { Entity, getEntitySourceLocation } from '@backstage/catalog-model';
import { Config } from '@backstage/config';
import { isError, NotModifiedError } from '@backstage/errors';
import { ScmIntegrations } from '@backstage/integration';
import {
  CommandDeclaration,
  RELEASE_COMMANDS_FILE_ANNOTATION,
} from '@release-commands/backstage-plugin-release-commands-common';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  brokenDeclaration,
  DeclarationOrigin,
  parseDeclaration,
} from './parseDeclaration';

/** How long reading a declared file may take. */
const READ_TIMEOUT_MS = 30_000;
/** How many files' last contents are kept, to ask the host "changed since?". */
const CACHED_FILES = 500;

type Located =
  | { kind: 'url'; url: string }
  | { kind: 'file'; path: string }
  | { kind: 'problem'; problem: string };

/**
 * The release commands an entity's repository declares, in the file its
 * `release-commands/file` annotation names. A URL is read through the
 * backend's `UrlReader` (so the integrations' credentials and
 * `backend.reading.allow` apply), asking the host whether it changed since
 * the last read; for an entity registered from a local file, a path
 * relative to it is read from disk, never outside that file's folder.
 */
export class RepositoryDeclarations {
  private readonly integrations: ScmIntegrations;
  private readonly cache = new Map<string, { etag: string; text: string }>();

  constructor(
    private readonly options: { urlReader: UrlReaderService; config: Config },
  ) {
    this.integrations = ScmIntegrations.fromConfig(options.config);
  }

  /**
   * The entity's declaration, or undefined when it has no annotation. A
   * file that cannot be read or parsed is a declaration with a `problem`.
   */
  async read(entity: Entity): Promise<CommandDeclaration | undefined> {
    const value =
      entity.metadata.annotations?.[RELEASE_COMMANDS_FILE_ANNOTATION]?.trim();
    if (value === undefined) return undefined;
    const located = this.locate(entity, value);
    const origin: DeclarationOrigin = {
      source: 'repository',
      location: locationOf(located, value),
      description: `the file ${value} (${RELEASE_COMMANDS_FILE_ANNOTATION} annotation)`,
    };
    if (located.kind === 'problem') {
      return brokenDeclaration(origin, located.problem);
    }
    let text: string;
    try {
      text =
        located.kind === 'url'
          ? await this.readUrl(located.url)
          : await readFile(located.path, 'utf8');
    } catch (error) {
      return brokenDeclaration(
        origin,
        `The release commands declared in ${
          origin.description
        } cannot be read from ${origin.location}: ${describeReadError(error)}`,
      );
    }
    return parseDeclaration(text, origin);
  }

  private locate(entity: Entity, value: string): Located {
    if (value.startsWith('url:')) {
      return { kind: 'url', url: value.slice('url:'.length) };
    }
    if (/^https?:\/\//.test(value)) {
      return { kind: 'url', url: value };
    }
    let base: { type: string; target: string };
    try {
      base = getEntitySourceLocation(entity);
    } catch {
      return {
        kind: 'problem',
        problem: `The ${RELEASE_COMMANDS_FILE_ANNOTATION} annotation names ${value}, a path, but the entity has no source location to resolve it against; use a url: instead.`,
      };
    }
    if (base.type === 'url') {
      return {
        kind: 'url',
        url: this.integrations.resolveUrl({ url: value, base: base.target }),
      };
    }
    if (base.type === 'file') {
      try {
        return {
          kind: 'file',
          path: resolveSafeChildPath(dirname(base.target), value),
        };
      } catch {
        return {
          kind: 'problem',
          problem: `The ${RELEASE_COMMANDS_FILE_ANNOTATION} annotation names ${value}, which is outside the folder the entity was registered from.`,
        };
      }
    }
    return {
      kind: 'problem',
      problem: `The ${RELEASE_COMMANDS_FILE_ANNOTATION} annotation names ${value}, a path, but the entity's source location is of type ${base.type}, which cannot be read; use a url: instead.`,
    };
  }

  private async readUrl(url: string): Promise<string> {
    const cached = this.cache.get(url);
    try {
      const response = await this.options.urlReader.readUrl(url, {
        etag: cached?.etag,
        signal: AbortSignal.timeout(READ_TIMEOUT_MS),
      });
      const text = (await response.buffer()).toString('utf8');
      this.cache.delete(url);
      if (response.etag) {
        this.cache.set(url, { etag: response.etag, text });
        if (this.cache.size > CACHED_FILES) {
          this.cache.delete(this.cache.keys().next().value!);
        }
      }
      return text;
    } catch (error) {
      if (cached && isError(error) && error.name === NotModifiedError.name) {
        return cached.text;
      }
      throw error;
    }
  }
}

/** Where a located file is, as the tab and the steps show it. */
function locationOf(located: Located, value: string): string {
  if (located.kind === 'url') return located.url;
  if (located.kind === 'file') return located.path;
  return value;
}

function describeReadError(error: unknown): string {
  if (!isError(error)) return String(error);
  if (error.name === 'NotFoundError' || (error as any).code === 'ENOENT') {
    return 'there is no such file.';
  }
  if (error.name === 'TimeoutError' || error.name === 'AbortError') {
    return `no answer within ${READ_TIMEOUT_MS / 1000} seconds.`;
  }
  const message = error.message.split('\n')[0];
  return /[.!?]$/.test(message) ? message : `${message}.`;
}
