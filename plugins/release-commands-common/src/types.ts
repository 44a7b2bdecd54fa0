/**
 * Where a command came from: typed in the tab by a person, added by a software
 * template, injected as a framework default, or added through the API.
 *
 * @public
 */
export type CommandSource = 'user' | 'template' | 'framework' | 'api';

/**
 * One release command of an entity.
 *
 * @public
 */
export type ReleaseCommand = {
  id: string;
  label: string;
  command: string;
  source: CommandSource;
  enabled: boolean;
  /** Null means the configured default (30 minutes unless configured). */
  timeoutSeconds: number | null;
  createdBy: string | null;
  createdAt: string;
  updatedBy: string | null;
  updatedAt: string;
};

/**
 * An entity's release commands in run order, with the revision that the next
 * write must name.
 *
 * @public
 */
export type ReleaseCommandList = {
  entityRef: string;
  revision: number;
  defaultTimeoutSeconds: number;
  commands: ReleaseCommand[];
};

/**
 * A framework's default release commands.
 *
 * @public
 */
export type ReleaseCommandPreset = {
  id: string;
  title: string;
  description: string;
  commands: Array<{ label: string; command: string }>;
};

/**
 * The parts of a command that a person edits.
 *
 * @public
 */
export type CommandSettings = Pick<
  ReleaseCommand,
  'label' | 'command' | 'enabled' | 'timeoutSeconds'
>;

/**
 * Whether two versions of a command would run the same way under the same
 * label: what decides "changed" for stores, audits and editors alike.
 *
 * @public
 */
export function sameCommandSettings(
  a: CommandSettings,
  b: CommandSettings,
): boolean {
  return (
    a.label === b.label &&
    a.command === b.command &&
    a.enabled === b.enabled &&
    a.timeoutSeconds === b.timeoutSeconds
  );
}
