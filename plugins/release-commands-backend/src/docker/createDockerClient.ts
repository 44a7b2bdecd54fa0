import { Config } from '@backstage/config';
import { InputError } from '@backstage/errors';
import Docker from 'dockerode';

/** Where the engine is, in words fit for a log line. */
export function describeDockerHost(config: Config): string {
  return (
    config.getOptionalString('releaseCommands.docker.host') ??
    process.env.DOCKER_HOST ??
    'unix:///var/run/docker.sock'
  );
}

/**
 * A dockerode client for the configured engine: `releaseCommands.docker.host`
 * when set (a `unix://` socket or a `tcp://`/`https://` address, with TLS
 * material from `releaseCommands.docker.tls`), otherwise whatever `DOCKER_HOST`
 * says, otherwise the local socket.
 */
export function createDockerClient(config: Config): Docker {
  const host = config.getOptionalString('releaseCommands.docker.host');
  if (!host) {
    return new Docker();
  }
  const url = new URL(host);
  if (url.protocol === 'unix:') {
    return new Docker({ socketPath: url.pathname });
  }
  if (!['tcp:', 'http:', 'https:'].includes(url.protocol)) {
    throw new InputError(
      `releaseCommands.docker.host must be a unix://, tcp://, http:// or https:// address, got ${host}`,
    );
  }
  const tls = config.getOptionalConfig('releaseCommands.docker.tls');
  const useTls = url.protocol === 'https:' || tls !== undefined;
  return new Docker({
    host: url.hostname,
    port: url.port || (useTls ? '2376' : '2375'),
    protocol: useTls ? 'https' : 'http',
    ca: tls?.getOptionalString('ca'),
    cert: tls?.getOptionalString('cert'),
    key: tls?.getOptionalString('key'),
  });
}
