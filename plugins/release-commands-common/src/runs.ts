import { z } from 'zod';
import { RELEASE_COMMAND_ENV_VAR } from './constants';
import { DeclaredCommandSource } from './declarations';
import { CommandSource } from './types';

/**
 * Where a run is in its life. `queued` and `running` are active; the others
 * are final. `interrupted` means the backend running it stopped: the run is
 * never retried on its own, since a command may have been half-applied.
 *
 * @public
 */
export type RunStatus =
  | 'queued'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'timed_out'
  | 'cancelled'
  | 'interrupted';

/**
 * The statuses of a run that has not ended yet; an entity has at most one
 * such run per environment.
 *
 * @public
 */
export const ACTIVE_RUN_STATUSES: readonly RunStatus[] = ['queued', 'running'];

/**
 * Whether a run in this status has ended (and will not change again).
 *
 * @public
 */
export function isFinalRunStatus(status: RunStatus): boolean {
  return !ACTIVE_RUN_STATUSES.includes(status);
}

/**
 * Where one step of a run is. Steps after the first that did not pass are
 * `skipped`; `interrupted` means the backend running the step stopped.
 *
 * @public
 */
export type StepStatus =
  | 'pending'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'timed_out'
  | 'cancelled'
  | 'skipped'
  | 'interrupted';

/**
 * How a run was started: from the tab, by a deploy pipeline, or by a
 * software template.
 *
 * @public
 */
export type RunTrigger = 'manual' | 'pipeline' | 'template';

/**
 * Where a step's command came from: the tab's list (with the source each
 * command has there), or a declaration of the repository or the image.
 *
 * @public
 */
export type StepSource = CommandSource | DeclaredCommandSource;

/**
 * One command of a run: a snapshot taken when the run was created, so later
 * edits to the entity's list do not change what a run did. The image's
 * declared commands join when the image is resolved, before step 1.
 *
 * @public
 */
export type RunStep = {
  position: number;
  label: string;
  /** Null for runs from before sources were recorded. */
  source: StepSource | null;
  /**
   * For a declared command, the file or image that declared it and which
   * version of it, as a `CommandDeclaration` says.
   */
  declaredIn?: { location: string; revision: string | null };
  /** Empty when `commandHidden`. */
  command: string;
  /**
   * The caller may read the run but not the entity's commands
   * (`release-commands.commands.read`): the command is left out, here and
   * in the log's step headings.
   */
  commandHidden?: true;
  timeoutSeconds: number;
  status: StepStatus;
  exitCode: number | null;
  oomKilled: boolean;
  startedAt: string | null;
  finishedAt: string | null;
};

/**
 * One run of an entity's release commands on an image, as the API returns it.
 *
 * @public
 */
export type ReleaseCommandRun = {
  id: string;
  entityRef: string;
  environment: string;
  /** The image reference as the deploy asked for it, e.g. `shop:1.4.2`. */
  image: string;
  /**
   * The image id every step ran (`sha256:...`), resolved once before the
   * first step; null until then, and when the executor resolves none.
   */
  imageId: string | null;
  /**
   * The repository digest a registry serves that image by
   * (`registry.example.com/shop@sha256:...`), when known: for an image
   * that was pulled or asked for by digest, not for one built on the engine.
   */
  imageDigest: string | null;
  /**
   * The revision of the entity's list the steps were taken from (see the
   * commands history); null for runs from before revisions were kept.
   */
  commandsRevision: number | null;
  status: RunStatus;
  trigger: RunTrigger;
  triggeredBy: string;
  /** Names of the variables passed in; their values are never stored. */
  envKeys: string[];
  /** One sentence a person can act on, for every final state but success. */
  reason: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  cancelRequestedAt: string | null;
  cancelRequestedBy: string | null;
  steps: RunStep[];
};

/** A page of an entity's runs, newest first. @public */
export type ReleaseCommandRunPage = {
  runs: ReleaseCommandRun[];
  /** Pass as `cursor` to read the next (older) page; absent on the last. */
  nextCursor?: string;
  /**
   * How long an ended run and its log are kept, in seconds, before the
   * backend removes them (`releaseCommands.runs.retention`); null when every
   * run is kept.
   */
  retentionSeconds: number | null;
};

/**
 * One piece of a run's log. `system` lines are the plugin's own (headings,
 * step results, the verdict); the others are the command's output.
 *
 * @public
 */
export type RunLogChunk = {
  seq: number;
  step: number | null;
  stream: 'stdout' | 'stderr' | 'system';
  at: string;
  text: string;
};

/**
 * The first line of every run's log, so the release phase is easy to find
 * in a longer deployment log.
 *
 * @public
 */
export const RUN_LOG_HEADING = '===== docker release commands =====';

/**
 * The environment of a run that names none. One run at a time is allowed
 * per entity and environment.
 *
 * @public
 */
export const DEFAULT_RUN_ENVIRONMENT = 'default';

// Docker's reference grammar (distribution/reference): an optional registry
// host with port, slash-separated lower-case path components, then an
// optional tag and an optional digest. The grammar lets any algorithm and
// hex through; the engine then accepts only the algorithms it can verify,
// each with lower-case hex of its length.
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const NAME = `(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST =
  '(?:sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})';
const IMAGE_REFERENCE = new RegExp(
  `^(${NAME})(?::(${TAG}))?(?:@(${DIGEST}))?$`,
);
const MAX_IMAGE_NAME_LENGTH = 255;

/**
 * Whether a string is an image reference the Docker engine accepts, e.g.
 * `registry.example.com:5000/team/shop:1.4.2` or `shop@sha256:...`.
 *
 * @public
 */
export function isImageReference(value: string): boolean {
  const match = IMAGE_REFERENCE.exec(value);
  return Boolean(match && match[1].length <= MAX_IMAGE_NAME_LENGTH);
}

/**
 * An image reference as {@link isImageReference} accepts it, with a message
 * that says what is expected.
 *
 * @public
 */
export const imageReferenceSchema = z
  .string()
  .min(1, 'must not be empty')
  .refine(
    isImageReference,
    'must be an image reference such as registry.example.com/team/shop:1.4.2 (lower-case name, optional tag and digest)',
  );

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The most variables a run may pass to its commands.
 *
 * @public
 */
export const MAX_ENV_VARIABLES = 200;
/**
 * The longest value of one variable passed to a run, in characters.
 *
 * @public
 */
export const MAX_ENV_VALUE_LENGTH = 32 * 1024;

/**
 * The longest name of a variable passed to a run.
 *
 * @public
 */
export const MAX_ENV_NAME_LENGTH = 128;
/**
 * The most bytes (UTF-8) of names and values a run may pass in all: a run's
 * variables are held in the backend's memory until it ends.
 *
 * @public
 */
export const MAX_ENV_TOTAL_BYTES = 256 * 1024;

/** Variables for the command's containers; values are treated as secrets. @public */
export const runEnvSchema = z
  .record(
    z.string().regex(ENV_NAME),
    z
      .string()
      .max(
        MAX_ENV_VALUE_LENGTH,
        `must be at most ${MAX_ENV_VALUE_LENGTH} characters`,
      )
      .refine(v => !v.includes('\u0000'), 'must not contain NUL characters'),
    {
      // zod reports a bad name as "Invalid key in record" whatever the name
      // schema says, so the message a person can act on is given here.
      error: issue =>
        issue.code === 'invalid_key'
          ? 'is not a valid name: use letters, digits and underscores, not starting with a digit'
          : undefined,
    },
  )
  .refine(
    env => Object.keys(env).length <= MAX_ENV_VARIABLES,
    `must hold at most ${MAX_ENV_VARIABLES} variables`,
  )
  .superRefine((env, ctx) => {
    const encoder = new TextEncoder();
    let bytes = 0;
    for (const [name, value] of Object.entries(env)) {
      if (name.length > MAX_ENV_NAME_LENGTH) {
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: `is too long a name: at most ${MAX_ENV_NAME_LENGTH} characters`,
        });
      }
      if (name === RELEASE_COMMAND_ENV_VAR) {
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message:
            'is set by release commands itself (to 1, in every command); choose another name',
        });
      }
      bytes += encoder.encode(name).length + encoder.encode(value).length;
    }
    if (bytes > MAX_ENV_TOTAL_BYTES) {
      ctx.addIssue({
        code: 'custom',
        message: `must hold at most ${
          MAX_ENV_TOTAL_BYTES / 1024
        } KiB of names and values in all, got ${Math.ceil(bytes / 1024)} KiB`,
      });
    }
  });

/**
 * The name of the environment a run deploys to, e.g. `production`.
 *
 * @public
 */
export const environmentNameSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9._-]{0,62}$/,
    'must be a short lower-case name such as production or staging',
  );

/** `POST .../runs`: run an entity's release commands on an image. @public */
export const createRunRequestSchema = z
  .object({
    image: imageReferenceSchema,
    env: runEnvSchema.optional(),
    environment: environmentNameSchema.optional(),
    /**
     * Check only: everything a run does before its first command (the
     * image made available and resolved, each step's executable looked up
     * in it, the entity's lock looked at), and answer a {@link RunPlan};
     * no run is written and no lock taken.
     */
    dryRun: z.boolean().optional(),
  })
  .strict();

/**
 * One step of a {@link RunPlan}: the command as a run would execute it,
 * and what the check found of its executable.
 *
 * @public
 */
export type RunPlanStep = {
  position: number;
  label: string;
  /** Where the command comes from, as in a run's steps. */
  source: StepSource | null;
  declaredIn?: { location: string; revision: string | null };
  /** Empty when `commandHidden`, as in a run. */
  command: string;
  commandHidden?: true;
  timeoutSeconds: number;
  /**
   * The program the step starts: the first word of a shell command (after
   * any `NAME=value` assignments), or the first element of an exec-form
   * argv; null when it cannot be told before running (a variable, say).
   */
  executable: string | null;
  /**
   * Where the image has it (as `command -v` answers), false when it is
   * missing, null when it was not looked up.
   */
  found: string | false | null;
};

/**
 * What `POST .../runs` with `dryRun: true` answers: the plan of a run and
 * the problems that would stop it, each in a sentence that names what is
 * wrong. Nothing was written; `ok` is true when there are no problems.
 *
 * @public
 */
export type RunPlan = {
  dryRun: true;
  ok: boolean;
  entityRef: string;
  environment: string;
  image: string;
  /** The image id every step would run, as resolved now; null if not resolved. */
  imageId: string | null;
  imageDigest: string | null;
  steps: RunPlanStep[];
  problems: string[];
};

/**
 * The body of `POST .../runs`.
 *
 * @public
 */
export type CreateRunRequest = z.infer<typeof createRunRequestSchema>;

/** How many items a page of a list route holds (`limit`). @public */
export const pageLimitSchema = z.coerce
  .number()
  .int('must be a whole number')
  .min(1, 'must be at least 1')
  .max(100, 'must be at most 100');

/** `GET .../runs` query. @public */
export const listRunsQuerySchema = z
  .object({
    limit: pageLimitSchema.optional(),
    cursor: z.string().max(200).optional(),
  })
  .strict();

/** `GET /runs/:id/logs` query. @public */
export const runLogsQuerySchema = z
  .object({
    follow: z
      .enum(['true', 'false'], { error: 'must be true or false' })
      .optional(),
    after: z.coerce
      .number()
      .int('must be a whole number')
      .min(0, 'must be a sequence number (0 or more)')
      .optional(),
  })
  .strict();

/**
 * How a command runs. A JSON array of strings, as in a Dockerfile's exec form
 * (`["python", "manage.py", "migrate"]`), runs that argv directly, for images
 * without a shell; anything else runs as `/bin/sh -c <command>` so `&&`,
 * pipes and variables work.
 *
 * @public
 */
export function commandArgv(command: string): string[] {
  const trimmed = command.trim();
  if (trimmed.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      if (
        Array.isArray(parsed) &&
        parsed.length > 0 &&
        parsed.every(part => typeof part === 'string') &&
        parsed[0].length > 0
      ) {
        return parsed;
      }
    } catch {
      // Not JSON: a shell command that starts with `[`, like `[ -f x ] && ...`.
    }
  }
  return ['/bin/sh', '-c', command];
}

/** The `:id` of a run route. @public */
export const runIdSchema = z.string().uuid('must be a run id (a UUID)');
