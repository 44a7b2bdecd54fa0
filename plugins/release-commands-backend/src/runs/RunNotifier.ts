import { LoggerService } from '@backstage/backend-plugin-api';
import { parseEntityRef } from '@backstage/catalog-model';
import { Config } from '@backstage/config';
import {
  NotificationSendOptions,
  NotificationService,
} from '@backstage/plugin-notifications-node';
import {
  plural,
  ReleaseCommandRun,
  releaseCommandsPageUrl,
  RunStatus,
} from '@release-commands/backstage-plugin-release-commands-common';
import { RunsStore } from '../database/RunsStore';

type Payload = NotificationSendOptions['payload'];
type FinalStatus = Exclude<RunStatus, 'queued' | 'running'>;

/** How each outcome reads after "Release commands of shop". */
const OUTCOMES: Record<
  FinalStatus,
  { words: string; severity: Payload['severity'] }
> = {
  failed: { words: 'failed', severity: 'high' },
  timed_out: { words: 'timed out', severity: 'high' },
  interrupted: { words: 'were interrupted', severity: 'high' },
  cancelled: { words: 'were cancelled', severity: 'normal' },
  succeeded: { words: 'succeeded', severity: 'low' },
};

/** Which outcomes are told, from `releaseCommands.notifications`. */
export type NotificationSettings = {
  /** Whether a run that succeeded is told, by default. */
  success: boolean;
  /** The same, for the environments that say. */
  successIn: Map<string, boolean>;
};

export function readNotificationSettings(config: Config): NotificationSettings {
  const notifications = config.getOptionalConfig(
    'releaseCommands.notifications',
  );
  const successIn = new Map<string, boolean>();
  const environments = notifications?.getOptionalConfig('environments');
  for (const name of environments?.keys() ?? []) {
    const success = environments!.getConfig(name).getOptionalBoolean('success');
    if (success !== undefined) successIn.set(name, success);
  }
  return {
    success: notifications?.getOptionalBoolean('success') ?? false,
    successIn,
  };
}

/**
 * Tells an entity's owners how its runs ended, through Backstage
 * notifications: one notification per run (the run's id is its scope, so a
 * later outcome of the same run replaces it), linking to the run's page.
 * Sending never holds up nor fails a run; a failed send is logged.
 */
export class RunNotifier {
  constructor(
    private readonly options: {
      runsStore: RunsStore;
      /** Absent when no notifications backend is installed. */
      notifications: NotificationService | undefined;
      settings: NotificationSettings;
      appBaseUrl: string;
      logger: LoggerService;
    },
  ) {}

  /**
   * Called once a run has ended. Resolves when the notification is sent or
   * the failure logged; it never rejects, so callers need not wait.
   */
  async ended(runId: string): Promise<void> {
    if (!this.options.notifications) return;
    await this.send(runId).catch(error =>
      this.options.logger.warn(
        `Could not notify the owners of how release command run ${runId} ended: ${error}`,
      ),
    );
  }

  /** The notification a run's end sends, or undefined when none is due. */
  notificationFor(run: ReleaseCommandRun): NotificationSendOptions | undefined {
    const status = run.status as FinalStatus;
    const outcome = OUTCOMES[status];
    if (!outcome) return undefined;
    if (status === 'succeeded' && !this.tellsSuccessIn(run.environment)) {
      return undefined;
    }
    const where = run.environment === 'default' ? '' : ` in ${run.environment}`;
    return {
      recipients: {
        type: 'entity',
        entityRef: run.entityRef,
        // Whoever cancelled a run knows.
        ...(run.cancelRequestedBy
          ? { excludeEntityRef: run.cancelRequestedBy }
          : {}),
      },
      payload: {
        title: `Release commands of ${displayName(run.entityRef)} ${
          outcome.words
        }${where}`,
        description: run.reason ?? successDescription(run),
        link: releaseCommandsPageUrl(
          this.options.appBaseUrl,
          run.entityRef,
          run.id,
        ),
        severity: outcome.severity,
        topic: 'release-commands',
        scope: run.id,
      },
    };
  }

  private tellsSuccessIn(environment: string): boolean {
    const { success, successIn } = this.options.settings;
    return successIn.get(environment) ?? success;
  }

  private async send(runId: string): Promise<void> {
    const run = await this.options.runsStore.getRun(runId);
    const notification = run && this.notificationFor(run);
    if (notification) await this.options.notifications!.send(notification);
  }
}

/** `shop` for `component:default/shop`; the kind and namespace otherwise. */
function displayName(entityRef: string): string {
  const { kind, namespace, name } = parseEntityRef(entityRef);
  const named = namespace === 'default' ? name : `${namespace}/${name}`;
  return kind.toLowerCase() === 'component' ? named : `${kind} ${named}`;
}

function successDescription(run: ReleaseCommandRun): string {
  return `${plural(run.steps.length, 'command')} passed on ${run.image}.`;
}
