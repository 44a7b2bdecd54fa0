import { z } from 'zod';
import {
  commandTextSchema,
  labelSchema,
  MAX_COMMANDS_PER_ENTITY,
  timeoutSecondsSchema,
} from './schemas';

/**
 * An entity annotation naming a file, in the entity's own repository, that
 * declares release commands: a path relative to the entity's source
 * location (`./release-commands.yaml`, resolved as TechDocs resolves
 * `dir:.`) or a URL (`url:https://github.com/acme/shop/blob/main/release-commands.yaml`).
 *
 * @public
 */
export const RELEASE_COMMANDS_FILE_ANNOTATION = 'release-commands/file';

/**
 * The image label whose value declares release commands, in the same
 * format as the file, as YAML or JSON: read when a run has resolved its
 * image, before step 1.
 *
 * @public
 */
export const RELEASE_COMMANDS_IMAGE_LABEL = 'release-commands/commands';

/**
 * Where a declared command comes from: the file named by
 * {@link RELEASE_COMMANDS_FILE_ANNOTATION}, or the image's
 * {@link RELEASE_COMMANDS_IMAGE_LABEL} label. Declared commands are read
 * only in the tab: they are changed where they are declared.
 *
 * @public
 */
export type DeclaredCommandSource = 'repository' | 'image';

/**
 * Where a declared command runs relative to the tab's own: `before` (the
 * default; migrations usually come first) or `after`, as the command's own
 * `position` says, else the document's. Declared commands keep their order
 * within each side, and the image's are outermost: the image's `before`
 * commands, the repository's `before` commands, the tab's, the
 * repository's `after` commands, the image's `after` commands.
 *
 * @public
 */
export type DeclarationPosition = 'before' | 'after';

/** `position` of a declaration document. @public */
export const declarationPositionSchema = z.enum(['before', 'after'], {
  error: 'must be before or after',
});

/**
 * A declaration document, as the file or the image label holds it:
 *
 * ```yaml
 * position: before          # the default for its commands
 * commands:
 *   - label: Migrate database
 *     command: python manage.py migrate
 *     timeoutSeconds: 600
 *   - label: Warm caches
 *     command: python manage.py warm_caches
 *     position: after
 * ```
 *
 * @public
 */
export const commandDeclarationDocumentSchema = z
  .object({
    position: declarationPositionSchema.optional(),
    commands: z
      .array(
        z
          .object({
            label: labelSchema,
            command: commandTextSchema,
            timeoutSeconds: timeoutSecondsSchema.nullable().optional(),
            position: declarationPositionSchema.optional(),
          })
          .strict(),
        {
          error: 'must be a list of commands, each with a label and a command',
        },
      )
      .max(
        MAX_COMMANDS_PER_ENTITY,
        `must hold at most ${MAX_COMMANDS_PER_ENTITY} commands`,
      ),
  })
  .strict();

/** A command as a declaration gives it. @public */
export type DeclaredCommand = {
  label: string;
  command: string;
  /** Null means the configured default. */
  timeoutSeconds: number | null;
  /** The command's own position, else the document's. */
  position: DeclarationPosition;
};

/**
 * The commands one source declares for an entity, or why they could not be
 * read: a declaration with a `problem` fails every run before step 1.
 *
 * @public
 */
export type CommandDeclaration = {
  source: DeclaredCommandSource;
  /**
   * For `repository`, the file as resolved (a URL, or a path for an entity
   * registered from a local file); for `image`, the image reference.
   */
  location: string;
  /**
   * Which version was read: `sha256:` and the digest of the file's
   * content, or the image id; null when it could not be read.
   */
  revision: string | null;
  commands: DeclaredCommand[];
  /** Why the declaration cannot be used, as a sentence a person can act on. */
  problem?: string;
  /** For `image`: the run it was last seen in (the tab cannot know the next image). */
  seenInRunId?: string;
};

/**
 * `GET .../commands/declared`: what the entity's repository declares now,
 * and what the image of its newest run declared.
 *
 * @public
 */
export type CommandDeclarations = {
  entityRef: string;
  declarations: CommandDeclaration[];
};

/**
 * The run order of an entity's commands with what is declared for it:
 * see {@link DeclarationPosition}. Generic, so the backend orders steps and
 * the tab orders rows with the same rule.
 *
 * @public
 */
export function inRunOrder<T>(
  own: T[],
  declared: Array<{
    source: DeclaredCommandSource;
    items: Array<{ position: DeclarationPosition; item: T }>;
  }>,
): T[] {
  const of = (source: DeclaredCommandSource, position: DeclarationPosition) =>
    declared
      .filter(d => d.source === source)
      .flatMap(d => d.items)
      .filter(d => d.position === position)
      .map(d => d.item);
  return [
    ...of('image', 'before'),
    ...of('repository', 'before'),
    ...own,
    ...of('repository', 'after'),
    ...of('image', 'after'),
  ];
}

/**
 * A short form of a declaration's revision for people: `sha256:3f2a9c1b0d4e`.
 *
 * @public
 */
export function shortRevision(revision: string): string {
  const match = /^(sha256:)([0-9a-f]{12})[0-9a-f]*$/.exec(revision);
  return match ? `${match[1]}${match[2]}` : revision;
}
