import { Config } from '@backstage/config';
import { parseImageReference, registryHost } from '../runs/ImagePolicy';

/** When to ask the registry for an image. */
export type PullPolicy = 'if-not-present' | 'always' | 'never';

/** Credentials for one registry, matched by the image reference's host. */
export type RegistryCredentials = {
  /** e.g. `ghcr.io`, `registry.example.com:5000`; `docker.io` for Docker Hub. */
  host: string;
  username: string;
  password: string;
};

/** How containers are pulled, limited and stopped. */
export type DockerExecutorOptions = {
  pullPolicy: PullPolicy;
  registries: RegistryCredentials[];
  /** How long a pull may take before the run fails. */
  pullTimeoutMs: number;
  /** How long one short engine request may go unanswered before it counts as failed. */
  engineTimeoutMs: number;
  /**
   * Memory limit in bytes, swap included (the container gets no swap); null
   * for none.
   */
  memoryBytes: number | null;
  cpus?: number;
  pidsLimit: number;
  /** Unset leaves the engine's default network. */
  networkMode?: string;
  /** Per environment, instead of `networkMode`. */
  environmentNetworkModes: Record<string, string>;
  stopGracePeriodSeconds: number;
  /** docker-init as PID 1, so that SIGTERM reaches the command. */
  init: boolean;
  /** A pseudo-terminal for each command, unless the step says otherwise. */
  tty: boolean;
  /** Capabilities given back; every other one is dropped. */
  capAdd: string[];
  /** `user`, `uid` or `uid:gid`; undefined keeps the image's own user. */
  user?: string;
  /** The image's files cannot be changed; a tmpfs is mounted on /tmp. */
  readOnlyRootFilesystem: boolean;
  /** Size of that tmpfs, in bytes. */
  tmpBytes: number;
};

const PULL_POLICIES: PullPolicy[] = ['if-not-present', 'always', 'never'];

/** A name or number, then optionally `:` and a group name or number. */
const USER =
  /^[a-z_][a-z0-9_.-]*$|^\d+$|^([a-z_][a-z0-9_.-]*|\d+):([a-z_][a-z0-9_.-]*|\d+)$/i;

/** Linux capabilities, as capabilities(7) names them (without `CAP_`). */
const CAPABILITIES = [
  'AUDIT_CONTROL',
  'AUDIT_READ',
  'AUDIT_WRITE',
  'BLOCK_SUSPEND',
  'BPF',
  'CHECKPOINT_RESTORE',
  'CHOWN',
  'DAC_OVERRIDE',
  'DAC_READ_SEARCH',
  'FOWNER',
  'FSETID',
  'IPC_LOCK',
  'IPC_OWNER',
  'KILL',
  'LEASE',
  'LINUX_IMMUTABLE',
  'MAC_ADMIN',
  'MAC_OVERRIDE',
  'MKNOD',
  'NET_ADMIN',
  'NET_BIND_SERVICE',
  'NET_BROADCAST',
  'NET_RAW',
  'PERFMON',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYSLOG',
  'SYS_ADMIN',
  'SYS_BOOT',
  'SYS_CHROOT',
  'SYS_MODULE',
  'SYS_NICE',
  'SYS_PACCT',
  'SYS_PTRACE',
  'SYS_RAWIO',
  'SYS_RESOURCE',
  'SYS_TIME',
  'SYS_TTY_CONFIG',
  'WAKE_ALARM',
];

/** `releaseCommands.docker.environments.<name>.networkMode`, by name. */
function readEnvironmentNetworkModes(
  docker: Config,
): Record<string, string> | undefined {
  const environments = docker.getOptionalConfig('environments');
  if (!environments) return undefined;
  return Object.fromEntries(
    environments
      .keys()
      .map(name => [
        name,
        environments.getConfig(name).getString('networkMode'),
      ]),
  );
}

/** Capability names as the engine takes them: upper case, `CAP_` prefixed. */
function readCapabilities(
  names: string[] | undefined,
  configKey: string,
): string[] | undefined {
  return names?.map(name => {
    const bare = name.toUpperCase().replace(/^CAP_/, '');
    if (!CAPABILITIES.includes(bare)) {
      throw new Error(
        `${configKey} lists ${JSON.stringify(
          name,
        )}, which is not a Linux capability (e.g. "NET_BIND_SERVICE"; see capabilities(7))`,
      );
    }
    return `CAP_${bare}`;
  });
}

/** A size, or `unlimited` for none (the only way to lift the default). */
function readMemoryLimit(
  value: string | number | undefined,
  configKey: string,
): number | null | undefined {
  if (value === undefined) return undefined;
  if (value === 'unlimited') return null;
  return parseMemorySize(value, configKey);
}

/** Reads `releaseCommands.docker`, refusing values the engine would misread. */
export function readDockerExecutorOptions(
  config: Config,
): Partial<DockerExecutorOptions> {
  const docker = config.getOptionalConfig('releaseCommands.docker');
  if (!docker) {
    return {};
  }
  const key = (name: string) => `releaseCommands.docker.${name}`;

  const pullPolicy = docker.getOptionalString('pullPolicy');
  if (
    pullPolicy !== undefined &&
    !PULL_POLICIES.includes(pullPolicy as PullPolicy)
  ) {
    throw new Error(
      `${key('pullPolicy')} must be one of ${PULL_POLICIES.join(
        ', ',
      )}, got "${pullPolicy}"`,
    );
  }
  const memory = docker.getOptional<string | number>('memory');
  const user = docker.getOptionalString('user');
  if (user !== undefined && !USER.test(user)) {
    throw new Error(
      `${key(
        'user',
      )} must be a user name or uid, optionally with :group or :gid (e.g. "10001:10001"), got ${JSON.stringify(
        user,
      )}`,
    );
  }
  const tmpSize = docker.getOptional<string | number>('tmpSize');
  const cpus = docker.getOptionalNumber('cpus');
  if (cpus !== undefined && !(cpus > 0)) {
    throw new Error(`${key('cpus')} must be a positive number, got ${cpus}`);
  }
  const pidsLimit = docker.getOptionalNumber('pidsLimit');
  if (
    pidsLimit !== undefined &&
    !(Number.isInteger(pidsLimit) && pidsLimit > 0)
  ) {
    throw new Error(
      `${key('pidsLimit')} must be a positive integer, got ${pidsLimit}`,
    );
  }
  const grace = docker.getOptionalNumber('stopGracePeriodSeconds');
  if (grace !== undefined && !(grace >= 0)) {
    throw new Error(
      `${key('stopGracePeriodSeconds')} must be zero or more, got ${grace}`,
    );
  }
  const seconds = (name: string) => {
    const value = docker.getOptionalNumber(name);
    if (value !== undefined && !(value > 0 && Number.isFinite(value))) {
      throw new Error(
        `${key(name)} must be a positive number of seconds, got ${value}`,
      );
    }
    return value === undefined ? undefined : value * 1000;
  };

  return dropUndefined({
    pullPolicy: pullPolicy as PullPolicy | undefined,
    registries: docker.getOptionalConfigArray('registries')?.map(registry => ({
      host: registry.getString('host'),
      username: registry.getString('username'),
      password: registry.getString('password'),
    })),
    memoryBytes: readMemoryLimit(memory, key('memory')),
    cpus,
    pidsLimit,
    networkMode: docker.getOptionalString('networkMode'),
    environmentNetworkModes: readEnvironmentNetworkModes(docker),
    stopGracePeriodSeconds: grace,
    init: docker.getOptionalBoolean('init'),
    tty: docker.getOptionalBoolean('tty'),
    capAdd: readCapabilities(
      docker.getOptionalStringArray('capAdd'),
      key('capAdd'),
    ),
    user,
    readOnlyRootFilesystem: docker.getOptionalBoolean('readOnlyRootFilesystem'),
    tmpBytes:
      tmpSize === undefined
        ? undefined
        : parseMemorySize(tmpSize, key('tmpSize')),
    pullTimeoutMs: seconds('pullTimeoutSeconds'),
    engineTimeoutMs: seconds('engineTimeoutSeconds'),
  });
}

/**
 * Bytes from Docker's notation: a number of bytes, or `512m`, `1g`, `64k`
 * (binary multiples, as `docker run --memory` reads them).
 */
export function parseMemorySize(
  value: string | number,
  configKey: string,
): number {
  const match =
    typeof value === 'string'
      ? /^(\d+(?:\.\d+)?)\s*([kmg]?)i?b?$/i.exec(value.trim())
      : undefined;
  const multiplier = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
  const bytes =
    typeof value === 'number'
      ? value
      : match &&
        Number(match[1]) *
          multiplier[match[2].toLowerCase() as keyof typeof multiplier];
  if (!bytes || !Number.isFinite(bytes) || bytes <= 0) {
    throw new Error(
      `${configKey} must be a number of bytes or a size such as "512m" or "1g", got ${JSON.stringify(
        value,
      )}`,
    );
  }
  return Math.floor(bytes);
}

/** The configured credentials for the registry `image` names, if any. */
export function findRegistryCredentials(
  registries: RegistryCredentials[],
  image: string,
): RegistryCredentials | undefined {
  const { registry } = parseImageReference(image);
  // Configs may carry a scheme or a path: `https://ghcr.io/`.
  return registries.find(
    ({ host }) =>
      registryHost(host.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '')) ===
      registry,
  );
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(value).filter(([, v]) => v !== undefined),
  ) as Partial<T>;
}
