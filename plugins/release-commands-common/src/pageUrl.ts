/**
 * The entity's Release commands tab in the portal, opened on one run when
 * `runId` is given: `/catalog/:namespace/:kind/:name/release-commands?run=ID`
 * after the app's base URL. `entityRef` is in the normalised
 * `kind:namespace/name` form of the shared schema.
 *
 * @public
 */
export function releaseCommandsPageUrl(
  appBaseUrl: string,
  entityRef: string,
  runId?: string,
): string {
  const [kind, rest] = entityRef.split(':');
  const [namespace, name] = rest.split('/');
  const path = [namespace, kind, name].map(encodeURIComponent).join('/');
  const query = runId ? `?run=${encodeURIComponent(runId)}` : '';
  return `${appBaseUrl.replace(
    /\/+$/,
    '',
  )}/catalog/${path}/release-commands${query}`;
}
