import { Config } from '@backstage/config';
import {
  PreparedImage,
  ReleaseCommandExecutor,
  StepRequest,
  StepResult,
} from '@release-commands/backstage-plugin-release-commands-node';
import Docker from 'dockerode';
import {
  createDockerClient,
  describeDockerHost,
} from '../docker/createDockerClient';
import { DockerEngine } from './DockerEngine';
import { DockerImagePuller } from './DockerImagePuller';
import { DockerLeftoverReaper } from './DockerLeftoverReaper';
import { DockerStepRunner } from './DockerStepRunner';
import {
  DockerExecutorOptions,
  readDockerExecutorOptions,
} from './readDockerExecutorOptions';

/** What an executor does when the config says nothing. */
export const DEFAULT_DOCKER_EXECUTOR_OPTIONS: DockerExecutorOptions = {
  pullPolicy: 'if-not-present',
  registries: [],
  pullTimeoutMs: 10 * 60_000,
  engineTimeoutMs: 10_000,
  memoryBytes: 2 * 1024 ** 3,
  pidsLimit: 1024,
  stopGracePeriodSeconds: 10,
  init: true,
  tty: true,
  capAdd: [],
  environmentNetworkModes: {},
  readOnlyRootFilesystem: false,
  tmpBytes: 64 * 1024 ** 2,
};

/**
 * Runs each step in a fresh container on a Docker engine, and removes it
 * afterwards: the image puller, the step runner and the leftover reaper
 * behind the executor interface.
 */
export class DockerExecutor implements ReleaseCommandExecutor {
  readonly description: string;
  private readonly puller: DockerImagePuller;
  private readonly runner: DockerStepRunner;
  private readonly reaper: DockerLeftoverReaper;

  static fromConfig(config: Config): DockerExecutor {
    const host = describeDockerHost(config);
    return new DockerExecutor({
      docker: createDockerClient(config),
      description: `docker (${host})`,
      engineName: host,
      options: readDockerExecutorOptions(config),
    });
  }

  constructor(args: {
    docker: Docker;
    description: string;
    /** How messages name the engine, e.g. its address; `description` by default. */
    engineName?: string;
    options?: Partial<DockerExecutorOptions>;
  }) {
    const options = { ...DEFAULT_DOCKER_EXECUTOR_OPTIONS, ...args.options };
    const engineName = args.engineName ?? args.description;
    const engine = new DockerEngine(args.docker, engineName, {
      callTimeoutMs: options.engineTimeoutMs,
    });
    this.description = args.description;
    this.puller = new DockerImagePuller(engine, options);
    this.runner = new DockerStepRunner(engine, options);
    this.reaper = new DockerLeftoverReaper(engine);
  }

  prepareImage(options: {
    image: string;
    log(line: string): void;
    signal: AbortSignal;
  }): Promise<PreparedImage> {
    return this.puller.prepareImage(options);
  }

  runStep(request: StepRequest): Promise<StepResult> {
    return this.runner.runStep(request);
  }

  removeLeftovers(options: {
    isAlive(runId: string): Promise<boolean>;
  }): Promise<string[]> {
    return this.reaper.removeLeftovers(options);
  }
}
