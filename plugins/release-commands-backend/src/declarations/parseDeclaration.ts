import {
  CommandDeclaration,
  commandDeclarationDocumentSchema,
  DeclaredCommandSource,
  describeZodError,
} from '@release-commands/backstage-plugin-release-commands-common';
import { createHash } from 'node:crypto';
import { parse } from 'yaml';

/** The most a declaration may hold, in bytes: a file or a label, not a dump. */
export const MAX_DECLARATION_BYTES = 256 * 1024;

/** Where a declaration was read: what it is called in its problems. */
export type DeclarationOrigin = {
  source: DeclaredCommandSource;
  location: string;
  /** How a person finds it, e.g. `the file ./release-commands.yaml`. */
  description: string;
};

/** The version of a declaration's text: `sha256:` and its digest. */
export function contentRevision(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** A declaration that cannot be used, and why. */
export function brokenDeclaration(
  origin: DeclarationOrigin,
  problem: string,
  revision: string | null = null,
): CommandDeclaration {
  return {
    source: origin.source,
    location: origin.location,
    revision,
    commands: [],
    problem,
  };
}

/**
 * Parses a declaration document (YAML, or JSON as YAML's subset). What
 * cannot be used is a declaration with a `problem` naming the field: never
 * a declaration silently left out.
 */
export function parseDeclaration(
  text: string,
  origin: DeclarationOrigin,
  revision: string = contentRevision(text),
): CommandDeclaration {
  if (Buffer.byteLength(text) > MAX_DECLARATION_BYTES) {
    return brokenDeclaration(
      origin,
      `The release commands declared in ${
        origin.description
      } cannot be used: it is larger than ${MAX_DECLARATION_BYTES / 1024} KiB.`,
      revision,
    );
  }
  let document: unknown;
  try {
    document = parse(text, { prettyErrors: true, maxAliasCount: 100 });
  } catch (error) {
    // The yaml library's first line names the fault and where it is, and
    // ends with a colon before a code frame that is left out here.
    const firstLine = String((error as Error).message)
      .split('\n')[0]
      .replace(/[\s:.]*$/, '');
    return brokenDeclaration(
      origin,
      `The release commands declared in ${origin.description} cannot be parsed: ${firstLine}.`,
      revision,
    );
  }
  const parsed = commandDeclarationDocumentSchema.safeParse(document, {
    error: issue => (issue.input === undefined ? 'is required' : undefined),
  });
  if (!parsed.success) {
    return brokenDeclaration(
      origin,
      `The release commands declared in ${
        origin.description
      } are not valid: ${describeZodError(parsed.error)}.`,
      revision,
    );
  }
  return {
    source: origin.source,
    location: origin.location,
    revision,
    commands: parsed.data.commands.map(command => ({
      label: command.label,
      command: command.command,
      timeoutSeconds: command.timeoutSeconds ?? null,
      position: command.position ?? parsed.data.position ?? 'before',
    })),
  };
}
