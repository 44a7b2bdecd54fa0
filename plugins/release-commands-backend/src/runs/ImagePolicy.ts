import { Config } from '@backstage/config';
import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import { NotAllowedError } from '@backstage/errors';
import {
  isImageReference,
  RELEASE_COMMANDS_ALLOWED_IMAGES_ANNOTATION,
} from '@release-commands/backstage-plugin-release-commands-common';

/** One allowed source of images, as `releaseCommands.images.allow` lists it. */
export type ImageSource =
  /** Every image of a registry host, e.g. `ghcr.io` (`docker.io` for Docker Hub). */
  | { registry: string }
  /** Every repository under a path, e.g. `ghcr.io/acme/` (ends with `/`). */
  | { repositoryPrefix: string }
  /** Every tag and digest of one repository, e.g. `ghcr.io/acme/shop`. */
  | { repository: string }
  /** One reference exactly, e.g. `ghcr.io/acme/shop:1.4.2`. */
  | { image: string };

/** An image reference taken apart the way the engine reads it. */
export type ParsedImageReference = {
  /** Lower case; `docker.io` for references without a host. */
  registry: string;
  /** `registry/path`, with Docker Hub's `library/` for official images. */
  repository: string;
  /** `repository:tag@digest`, the tag `latest` when neither is given. */
  reference: string;
};

/** `busybox` as `docker.io/library/busybox:latest`, and so on. */
export function parseImageReference(image: string): ParsedImageReference {
  const [name, digest] = image.split('@') as [string, string | undefined];
  const lastSlash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  const tag = colon > lastSlash ? name.slice(colon + 1) : undefined;
  const bare = tag === undefined ? name : name.slice(0, colon);
  const { registry, path: named } = splitRegistry(bare);
  const path =
    registry === 'docker.io' && !named.includes('/')
      ? `library/${named}`
      : named;
  const repository = `${registry}/${path}`;
  // The engine pulls `latest` only when neither a tag nor a digest is given.
  const shownTag = tag ?? (digest ? undefined : 'latest');
  const reference = `${repository}${shownTag ? `:${shownTag}` : ''}${
    digest ? `@${digest}` : ''
  }`;
  return { registry, repository, reference };
}

/**
 * The registry a name (without tag or digest) names, as Docker decides it:
 * its first component when that looks like a host, Docker Hub otherwise.
 */
function splitRegistry(name: string): { registry: string; path: string } {
  const [first, ...rest] = name.split('/');
  const hasHost =
    rest.length > 0 &&
    (first.includes('.') || first.includes(':') || first === 'localhost');
  return hasHost
    ? { registry: registryHost(first), path: rest.join('/') }
    : { registry: 'docker.io', path: name };
}

/** A registry host as references name it: Docker Hub goes by several names. */
export function registryHost(host: string): string {
  const lower = host.toLowerCase();
  return ['index.docker.io', 'registry-1.docker.io'].includes(lower)
    ? 'docker.io'
    : lower;
}

function describeSource(source: ImageSource): string {
  if ('registry' in source) return `registry ${source.registry}`;
  if ('repositoryPrefix' in source) {
    return `repositories under ${source.repositoryPrefix}`;
  }
  if ('repository' in source) return `repository ${source.repository}`;
  return `image ${source.image}`;
}

function matches(source: ImageSource, image: ParsedImageReference): boolean {
  if ('registry' in source) return image.registry === source.registry;
  if ('repositoryPrefix' in source) {
    return image.repository.startsWith(source.repositoryPrefix);
  }
  if ('repository' in source) return image.repository === source.repository;
  return image.reference === source.image;
}

/**
 * Which images runs may use: the sources `releaseCommands.images.allow`
 * lists, or for an environment with a list of its own
 * (`releaseCommands.images.environments.<name>.allow`), that list instead.
 * Nothing is allowed when nothing is listed: running an image is running
 * its code with the engine's resources and network, and pulling it uses
 * the backend's registry credentials, so an install says which images it
 * trusts before any runs.
 */
export class ImagePolicy {
  static fromConfig(config: Config): ImagePolicy {
    const images = config.getOptionalConfig('releaseCommands.images');
    const read = (list: Config[] | undefined, key: string) =>
      list?.map((entry, index) => readSource(entry, `${key}[${index}]`));
    const environments = new Map<string, ImageSource[]>();
    const perEnvironment = images?.getOptionalConfig('environments');
    for (const name of perEnvironment?.keys() ?? []) {
      const key = `releaseCommands.images.environments.${name}.allow`;
      environments.set(
        name,
        read(perEnvironment!.getConfig(name).getConfigArray('allow'), key)!,
      );
    }
    return new ImagePolicy(
      read(
        images?.getOptionalConfigArray('allow'),
        'releaseCommands.images.allow',
      ) ?? [],
      environments,
    );
  }

  constructor(
    private readonly allowed: ImageSource[],
    private readonly environments = new Map<string, ImageSource[]>(),
  ) {}

  /**
   * A 403 naming the list that refused, unless `image` may run there: in
   * the config's list for `environment` and, when `entity` has the
   * `release-commands/allowed-images` annotation, in that list too. The
   * annotation only narrows: what the config refuses, no entity allows.
   */
  check(image: string, environment: string, entity?: Entity): void {
    const own = this.environments.get(environment);
    const sources = own ?? this.allowed;
    const key = own
      ? `releaseCommands.images.environments.${environment}.allow`
      : 'releaseCommands.images.allow';
    const parsed = parseImageReference(image);
    if (!sources.some(source => matches(source, parsed))) {
      throw new NotAllowedError(
        sources.length === 0
          ? `Image ${
              parsed.reference
            } is not allowed: ${key} lists no image source, so no image may run${
              own ? '' : ' (see the README on allowing images)'
            }`
          : `Image ${
              parsed.reference
            } is not allowed in environment ${environment}: ${key} allows only ${describeSources(
              sources,
            )}`,
      );
    }
    const annotation =
      entity?.metadata.annotations?.[
        RELEASE_COMMANDS_ALLOWED_IMAGES_ANNOTATION
      ];
    if (annotation === undefined) return;
    const ref = stringifyEntityRef(entity!);
    const narrowed = readAnnotation(annotation, ref);
    if (narrowed.some(source => matches(source, parsed))) return;
    throw new NotAllowedError(
      narrowed.length === 0
        ? `Image ${parsed.reference} is not allowed for ${ref}: its ${RELEASE_COMMANDS_ALLOWED_IMAGES_ANNOTATION} annotation lists no image source, so no image may run for it`
        : `Image ${
            parsed.reference
          } is not allowed for ${ref}: its ${RELEASE_COMMANDS_ALLOWED_IMAGES_ANNOTATION} annotation allows only ${describeSources(
            narrowed,
          )}`,
    );
  }
}

function describeSources(sources: ImageSource[]): string {
  return sources.map(describeSource).join(', ');
}

/**
 * The sources an entity's `release-commands/allowed-images` annotation
 * lists, separated by commas or white space: `ghcr.io/acme/` (ends with
 * `/`: the repositories under it; a host alone, `ghcr.io/`, is the whole
 * registry), `ghcr.io/acme/shop:1.4.2` (a tag or digest: that image) or
 * `ghcr.io/acme/shop` (that repository). An entry it cannot read refuses
 * every image, since what the owner meant to allow is unknown.
 */
function readAnnotation(value: string, ref: string): ImageSource[] {
  return value
    .split(/[\s,]+/)
    .filter(Boolean)
    .map(entry => {
      const source = toSource(annotationKind(entry), entry);
      if (typeof source === 'string') {
        throw new NotAllowedError(
          `No image may run for ${ref}: its ${RELEASE_COMMANDS_ALLOWED_IMAGES_ANNOTATION} annotation has ${JSON.stringify(
            entry,
          )}, which is not ${source}`,
        );
      }
      return source;
    });
}

/** What an annotation entry names, by its shape. */
function annotationKind(entry: string): SourceKind {
  if (entry.endsWith('/')) return 'repositoryPrefix';
  // A tag or a digest after the last path segment's name: one image.
  return /[:@]/.test(entry.split('/').pop()!) ? 'image' : 'repository';
}

function readSource(entry: Config, key: string): ImageSource {
  const kinds: SourceKind[] = [
    'registry',
    'repositoryPrefix',
    'repository',
    'image',
  ];
  const given = kinds.filter(kind => entry.has(kind));
  if (given.length !== 1) {
    throw new Error(
      `${key} must have exactly one of ${kinds.join(', ')}, got ${
        given.length === 0 ? 'none' : given.join(' and ')
      }`,
    );
  }
  const kind = given[0];
  const value = entry.getString(kind);
  const source = toSource(kind, value);
  if (typeof source === 'string') {
    throw new Error(
      `${key}.${kind} must be ${source}, got ${JSON.stringify(value)}`,
    );
  }
  return source;
}

type SourceKind = 'registry' | 'repositoryPrefix' | 'repository' | 'image';

/** The source `value` names as a `kind`, or what it should have been. */
function toSource(kind: SourceKind, value: string): ImageSource | string {
  switch (kind) {
    case 'registry': {
      if (!/^[a-z0-9.-]+(:\d+)?$/i.test(value)) {
        return 'a registry host such as ghcr.io or registry.example.com:5000';
      }
      return { registry: registryHost(value) };
    }
    case 'repositoryPrefix': {
      const { registry, path } = splitRegistry(value);
      // A host alone (`ghcr.io/`) is a prefix of every repository there.
      const hostOnly = path === '';
      if (
        !value.endsWith('/') ||
        (!hostOnly && !isImageReference(value.slice(0, -1)))
      ) {
        return 'a repository path ending with /, such as ghcr.io/acme/';
      }
      // A path, not a repository: Docker Hub's library/ is not added.
      return { repositoryPrefix: `${registry}/${hostOnly ? '' : path}` };
    }
    case 'repository': {
      if (!isImageReference(value) || /[:@]/.test(value.split('/').pop()!)) {
        return 'a repository without tag or digest, such as ghcr.io/acme/shop';
      }
      return { repository: parseImageReference(value).repository };
    }
    default: {
      if (!isImageReference(value)) {
        return 'an image reference such as ghcr.io/acme/shop:1.4.2';
      }
      return { image: parseImageReference(value).reference };
    }
  }
}
