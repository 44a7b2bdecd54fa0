type ParseResult =
  | { success: true }
  | { success: false; error: { issues: Array<{ message: string }> } };

/**
 * A field's message from one of the shared zod schemas, as a sentence:
 * `Label must not be empty`. Undefined when the value passed.
 */
export function firstIssue(
  field: string,
  result: ParseResult,
): string | undefined {
  return result.success
    ? undefined
    : `${field} ${result.error.issues[0].message}`;
}
