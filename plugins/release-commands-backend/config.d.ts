export interface Config {
  /** Configuration for the release-commands plugin. */
  releaseCommands?: {
    /**
     * How long one command may run when it sets no timeout of its own, in
     * seconds. Defaults to 1800 (30 minutes).
     * @visibility frontend
     */
    defaultTimeoutSeconds?: number;
    /** The Docker engine that runs release commands. */
    docker?: {
      /**
       * Address of the engine: `unix:///var/run/docker.sock`, `tcp://host:2375`
       * or `https://host:2376`. Defaults to `DOCKER_HOST`, then the local socket.
       * @visibility backend
       */
      host?: string;
      /** TLS material for a remote engine, as PEM text. */
      tls?: {
        /** @visibility secret */
        ca?: string;
        /** @visibility secret */
        cert?: string;
        /** @visibility secret */
        key?: string;
      };
    };
  };
}
