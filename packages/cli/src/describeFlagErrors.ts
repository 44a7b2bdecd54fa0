/**
 * A zod error of a request body in terms of the flags it came from, e.g.
 * `--env 1X is not a valid name ...`, so a person knows what to fix.
 */
export function describeFlagErrors(
  error: { issues: Array<{ path: PropertyKey[]; message: string }> },
  flagOfField: Record<string, string>,
): string {
  return error.issues
    .map(issue => {
      const [field, ...rest] = issue.path.map(String);
      const flag = flagOfField[field] ?? field;
      const where = rest.length > 0 ? `${flag} ${rest.join('.')}` : flag;
      return `${where} ${issue.message}`;
    })
    .join('; ');
}
