import fs from 'node:fs';

/** What `registerComponents` takes besides the names. */
export type RegisterComponentsOptions = {
  /** How long the catalog may take to serve them; 60 s unless told. */
  timeoutMs?: number;
};

/** The test entities of one backend process's catalog. */
export type TestCatalog = {
  /** The YAML file the backend's `catalog.locations` lists. */
  file: string;
  /** See `BackendProcess.registerComponents`. */
  registerComponents(
    names: Iterable<string>,
    options?: RegisterComponentsOptions,
  ): Promise<void>;
};

/** The catalog's rule for `metadata.name` (@backstage/catalog-model). */
const ENTITY_NAME = /^([a-zA-Z0-9]+[-_.])*[a-zA-Z0-9]+$/;
const NAME_LINE = /^ {2}name: (\S+)$/gm;
const POLL_MS = 100;

/** What the file starts with; the catalog skips an empty document. */
export const TEST_CATALOG_HEADER =
  '# Components the tests registered (see registerComponents in @release-commands/test-utils).\n';

/**
 * A Component as the portal's examples have them: `catalog.rules` in
 * app-config.yaml allows the kind, and the owner is the examples' group.
 */
function componentYaml(name: string) {
  return [
    '---',
    'apiVersion: backstage.io/v1alpha1',
    'kind: Component',
    'metadata:',
    `  name: ${name}`,
    '  description: Registered by a test',
    'spec:',
    '  type: service',
    '  lifecycle: production',
    '  owner: group:default/guests',
    '',
  ].join('\n');
}

/** The names the file holds (only this module writes it). */
function namesIn(file: string): Set<string> {
  const text = fs.readFileSync(file, 'utf8');
  return new Set(Array.from(text.matchAll(NAME_LINE), m => m[1]));
}

/**
 * Adds the names the file lacks, replacing it whole (write, then rename) so
 * that the catalog never reads half an entity. Synchronous, so calls made at
 * once from one test process cannot lose each other's names.
 */
function addToFile(file: string, names: string[]) {
  const present = namesIn(file);
  const missing = names.filter(name => !present.has(name));
  if (!missing.length) return;
  const text =
    fs.readFileSync(file, 'utf8') + missing.map(componentYaml).join('');
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, text);
  fs.renameSync(temporary, file);
}

/**
 * Registers Components in the real catalog of a backend process through the
 * `file` location its config lists, authenticated with the backend's static
 * token (as `BackendProcess.api` calls the plugin).
 *
 * Written to the file, an entity would reach the catalog only when the
 * location is next processed (every 100 to 150 s by default). A refresh of
 * the location entity (POST /api/catalog/refresh) has it processed on the
 * engine's next poll instead, about a second, without making the catalog
 * reprocess everything all the time as a short `catalog.processingInterval`
 * would, on a machine whose CPUs the runs under test need.
 */
export function createTestCatalog(options: {
  baseUrl: string;
  token: string;
  file: string;
}): TestCatalog {
  const { baseUrl, token, file } = options;
  /** Names this process has seen served; asking again costs nothing. */
  const served = new Set<string>();
  let locationRef: string | undefined;

  async function catalogApi<T>(path: string, init: RequestInit = {}) {
    const res = await fetch(`${baseUrl}/api/catalog${path}`, {
      ...init,
      headers: {
        Authorization: `Bearer ${token}`,
        ...(init.body ? { 'Content-Type': 'application/json' } : {}),
      },
    });
    const text = await res.text();
    if (!res.ok) {
      throw new Error(
        `${init.method ?? 'GET'} /api/catalog${path}: ${res.status} ${text}`,
      );
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** The refs of these names the catalog does not serve yet. */
  async function unserved(refs: string[]): Promise<string[]> {
    const { items } = await catalogApi<{ items: Array<unknown | null> }>(
      '/entities/by-refs',
      {
        method: 'POST',
        body: JSON.stringify({ entityRefs: refs, fields: ['metadata.name'] }),
      },
    );
    return refs.filter((_, i) => !items[i]);
  }

  async function sleep() {
    await new Promise(resolve => setTimeout(resolve, POLL_MS));
  }

  /**
   * The Location entity the config's file location became. Looked up rather
   * than computed, as its name is the catalog's own hash of the target; it is
   * served a moment after the backend starts.
   */
  async function location(until: number, timeoutMs: number) {
    while (!locationRef) {
      const filter = encodeURIComponent(`kind=location,spec.target=${file}`);
      const { items } = await catalogApi<{
        items: Array<{ metadata: { name: string; namespace?: string } }>;
      }>(`/entities/by-query?filter=${filter}&fields=metadata&limit=1`);
      if (items.length) {
        const { name, namespace = 'default' } = items[0].metadata;
        locationRef = `location:${namespace}/${name}`;
      } else if (Date.now() > until) {
        throw new Error(
          `The catalog of ${baseUrl} has no Location for ${file} after ${timeoutMs} ms`,
        );
      } else {
        await sleep();
      }
    }
    return locationRef;
  }

  /** The location's processing errors, to say why an entity never came. */
  async function locationErrors(): Promise<string> {
    if (!locationRef) return '';
    try {
      const [, namespace, name] = /^location:([^/]+)\/(.+)$/.exec(locationRef)!;
      const entity = await catalogApi<{
        status?: { items?: Array<{ error?: { message?: string } }> };
      }>(`/entities/by-name/location/${namespace}/${name}`);
      const messages = (entity.status?.items ?? []).map(
        item => item.error?.message,
      );
      return messages.length
        ? `; the location's errors: ${messages.join('; ')}`
        : '';
    } catch (error) {
      return `; its location could not be read: ${error}`;
    }
  }

  async function registerComponents(
    names: Iterable<string>,
    { timeoutMs = 60_000 }: RegisterComponentsOptions = {},
  ) {
    const wanted = [...new Set(names)].filter(name => !served.has(name));
    if (!wanted.length) return;
    for (const name of wanted) {
      if (name.length > 63 || !ENTITY_NAME.test(name)) {
        throw new Error(
          `${JSON.stringify(
            name,
          )} is not a valid entity name (at most 63 letters, digits and [-_.] between them)`,
        );
      }
    }
    const until = Date.now() + timeoutMs;
    addToFile(file, wanted);
    const refs = wanted.map(name => `component:default/${name}`);
    let missing = await unserved(refs);
    if (missing.length) {
      // Also when another call (or a backend sharing the file and the
      // catalog's database) wrote the names: a refresh costs one update,
      // and waiting on someone else's could wait for the next interval.
      await catalogApi('/refresh', {
        method: 'POST',
        body: JSON.stringify({ entityRef: await location(until, timeoutMs) }),
      });
    }
    while (missing.length) {
      if (Date.now() > until) {
        throw new Error(
          `The catalog of ${baseUrl} did not serve ${missing.join(
            ', ',
          )} within ${timeoutMs} ms of their being written to ${file}${await locationErrors()}`,
        );
      }
      await sleep();
      missing = await unserved(missing);
    }
    for (const name of wanted) served.add(name);
  }

  return { file, registerComponents };
}
