import { Config } from '@backstage/config';
import { NotAllowedError } from '@backstage/errors';
import { isImageReference } from '@release-commands/backstage-plugin-release-commands-common';

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

  /** A 403 naming the list that refused, unless `image` may run there. */
  check(image: string, environment: string): void {
    const own = this.environments.get(environment);
    const sources = own ?? this.allowed;
    const key = own
      ? `releaseCommands.images.environments.${environment}.allow`
      : 'releaseCommands.images.allow';
    const parsed = parseImageReference(image);
    if (sources.some(source => matches(source, parsed))) return;
    throw new NotAllowedError(
      sources.length === 0
        ? `Image ${
            parsed.reference
          } is not allowed: ${key} lists no image source, so no image may run${
            own ? '' : ' (see the README on allowing images)'
          }`
        : `Image ${
            parsed.reference
          } is not allowed in environment ${environment}: ${key} allows only ${sources
            .map(describeSource)
            .join(', ')}`,
    );
  }
}

function readSource(entry: Config, key: string): ImageSource {
  const kinds = ['registry', 'repositoryPrefix', 'repository', 'image'];
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
  const refuse = (expected: string) =>
    new Error(
      `${key}.${kind} must be ${expected}, got ${JSON.stringify(value)}`,
    );
  switch (kind) {
    case 'registry': {
      if (!/^[a-z0-9.-]+(:\d+)?$/i.test(value)) {
        throw refuse(
          'a registry host such as ghcr.io or registry.example.com:5000',
        );
      }
      return { registry: registryHost(value) };
    }
    case 'repositoryPrefix': {
      if (!value.endsWith('/') || !isImageReference(value.slice(0, -1))) {
        throw refuse('a repository path ending with /, such as ghcr.io/acme/');
      }
      // A path, not a repository: Docker Hub's library/ is not added.
      const { registry, path } = splitRegistry(value);
      return { repositoryPrefix: `${registry}/${path}` };
    }
    case 'repository': {
      if (!isImageReference(value) || /[:@]/.test(value.split('/').pop()!)) {
        throw refuse(
          'a repository without tag or digest, such as ghcr.io/acme/shop',
        );
      }
      return { repository: parseImageReference(value).repository };
    }
    default: {
      if (!isImageReference(value)) {
        throw refuse('an image reference such as ghcr.io/acme/shop:1.4.2');
      }
      return { image: parseImageReference(value).reference };
    }
  }
}
