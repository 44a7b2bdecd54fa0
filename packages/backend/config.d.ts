export interface Config {
  /**
   * The demo portal's own: release commands declared in files, added through
   * the release-commands API at start-up to each entity whose list has never
   * been written. After that the entity's tab is where they change.
   */
  declaredReleaseCommands?: Array<{
    /**
     * The entity, `kind:namespace/name`.
     * @visibility backend
     */
    entity: string;
    /**
     * A YAML file with a `commands` list of `{ label, command, enabled?,
     * timeoutSeconds? }`, relative to the backend's working directory.
     * @visibility backend
     */
    file: string;
  }>;
}
