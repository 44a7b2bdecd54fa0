import { HumanDuration } from '@backstage/types';

export interface Config {
  /** Configuration for the release-commands plugin. */
  releaseCommands?: {
    /**
     * How long one command may run when it sets no timeout of its own, in
     * whole seconds from 1 to 86400 (24 hours, the most a command's own
     * timeout may be). Defaults to 1800 (30 minutes).
     * @visibility frontend
     */
    defaultTimeoutSeconds?: number;
    /**
     * Which images runs may use. Nothing is allowed until something is
     * listed: a run executes the image's code with the engine's resources
     * and network, and its pull uses the backend's registry credentials, so
     * the sources are yours to trust. A refused run gets 403 naming the
     * list, and nothing is stored or pulled.
     */
    images?: {
      /**
       * The sources every environment allows, each one of: `registry`
       * (every image of a host, `docker.io` for Docker Hub), `repositoryPrefix`
       * (every repository under a path ending with `/`, e.g.
       * `ghcr.io/acme/`), `repository` (every tag and digest of one, e.g.
       * `ghcr.io/acme/shop`) or `image` (one reference exactly). Names are
       * read as Docker reads them: `busybox` is
       * `docker.io/library/busybox:latest`.
       * @visibility backend
       */
      allow?: Array<{
        /** @visibility backend */
        registry?: string;
        /** @visibility backend */
        repositoryPrefix?: string;
        /** @visibility backend */
        repository?: string;
        /** @visibility backend */
        image?: string;
      }>;
      /** Lists of their own for some environments, instead of `allow`. */
      environments?: {
        [name: string]: {
          /** @visibility backend */
          allow: Array<{
            /** @visibility backend */
            registry?: string;
            /** @visibility backend */
            repositoryPrefix?: string;
            /** @visibility backend */
            repository?: string;
            /** @visibility backend */
            image?: string;
          }>;
        };
      };
    };
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
      /**
       * When to pull a run's image: `if-not-present` (the default) pulls only
       * when the engine lacks it, `always` pulls every time, `never` requires
       * the image to be built or loaded on the engine beforehand.
       * @visibility backend
       */
      pullPolicy?: 'if-not-present' | 'always' | 'never';
      /**
       * Credentials for private registries, chosen by the host an image
       * reference names (`docker.io` for references without a host).
       */
      registries?: Array<{
        /**
         * The registry host, e.g. `ghcr.io` or `registry.example.com:5000`.
         * @visibility backend
         */
        host: string;
        /** @visibility backend */
        username: string;
        /** @visibility secret */
        password: string;
      }>;
      /**
       * Memory limit of each command's container, swap included: bytes, or a
       * size such as `512m` or `1g`. Defaults to `2g`. `unlimited` lifts it,
       * at a risk: one command that leaks or loads too much then takes
       * memory from everything else on the engine's host, the portal too
       * when it runs there.
       * @visibility backend
       */
      memory?: string | number;
      /**
       * CPUs each command's container may use, e.g. `1.5`. Unlimited when unset.
       * @visibility backend
       */
      cpus?: number;
      /**
       * Most processes each command's container may run. Defaults to 1024.
       * @visibility backend
       */
      pidsLimit?: number;
      /**
       * Docker network the containers join, e.g. `none` or a user-defined
       * network. Defaults to the engine's default network, from which
       * commands reach whatever the engine's host reaches (other
       * containers, internal services, the cloud's metadata endpoint).
       * `none` is the recommendation wherever commands need no network;
       * otherwise a user-defined network that reaches only what they need
       * (the database a migration changes).
       * @visibility backend
       */
      networkMode?: string;
      /**
       * Settings of one environment (the `environment` a run names) that
       * replace the ones above for its runs.
       */
      environments?: {
        [name: string]: {
          /**
           * The network of this environment's runs, e.g. the one where its
           * database is.
           * @visibility backend
           */
          networkMode: string;
        };
      };
      /**
       * Seconds a command has to exit after SIGTERM (on timeout or cancel)
       * before it is killed. Defaults to 10.
       * @visibility backend
       */
      stopGracePeriodSeconds?: number;
      /**
       * Run docker-init as PID 1 so that SIGTERM reaches the command and
       * zombies are reaped. Defaults to true.
       * @visibility backend
       */
      init?: boolean;
      /**
       * Give each command a pseudo-terminal, as `docker run -t` does.
       * Defaults to true: the log then holds the output in the order it was
       * written across stdout and stderr, and runtimes that hold output back
       * without a terminal (Python, C programs) write each line at once. The
       * cost: stdout and stderr become one stream, so the log no longer
       * tells them apart (no red stderr lines in the tab), and programs see
       * a terminal (colours, progress bars; a prompt reads end of file),
       * and the engine copies output through a terminal far more slowly
       * (a command printing 200 MB: 28 s for `docker run --rm -t`, 12 s
       * for `docker run --rm`, on 2 CPUs). False keeps the two streams
       * apart, each in its own order.
       * @visibility backend
       */
      tty?: boolean;
      /**
       * Linux capabilities given back to each command's container, e.g.
       * `["NET_BIND_SERVICE"]`. Every capability is dropped by default, so
       * that a command running as root in its container cannot change file
       * ownership, use raw sockets, trace processes and the like, and
       * `no-new-privileges` keeps setuid programs from raising it again.
       * The risk of each one added: it is held by every command of every
       * entity, and some (`SYS_ADMIN`, `SYS_PTRACE`, `DAC_READ_SEARCH`,
       * `NET_ADMIN`) are known routes out of a container.
       * @visibility backend
       */
      capAdd?: string[];
      /**
       * The user commands run as: a name or uid, optionally with `:group`
       * or `:gid`, e.g. `"10001:10001"`. Defaults to the image's own `USER`,
       * which is root when the image sets none (without capabilities, see
       * `capAdd`, but still the owner of the image's files, and uid 0 on
       * the host should the container be escaped). A uid the image does not
       * know works too: the command has no home directory then.
       * @visibility backend
       */
      user?: string;
      /**
       * Make the image's file system read-only for the command, with a
       * writable tmpfs on `/tmp` (see `tmpSize`). Defaults to false, since
       * some frameworks write next to the code (Rails writes `db/schema.rb`
       * after migrating); true where the commands allow it, so that a
       * command (or a dependency it loads) cannot replace the image's
       * programs and libraries that the rest of its step then runs. Each
       * step starts from the image anyway, and paths the image declares
       * as `VOLUME` stay writable.
       * @visibility backend
       */
      readOnlyRootFilesystem?: boolean;
      /**
       * Size of the `/tmp` tmpfs of a read-only file system: bytes, or a size
       * such as `64m`. Its contents count toward `memory`. Defaults to `64m`.
       * @visibility backend
       */
      tmpSize?: string | number;
      /**
       * Seconds a pull may take before the run fails. Defaults to 600
       * (10 minutes).
       * @visibility backend
       */
      pullTimeoutSeconds?: number;
      /**
       * Seconds one request to the engine (inspect, start, kill, remove,
       * list) may go unanswered before it counts as failed. A request that
       * is safe to repeat is tried 3 times, and a running command ends for
       * an engine failure only after 3 failed checks in a row. Defaults to 10.
       * @visibility backend
       */
      engineTimeoutSeconds?: number;
    };
    /** How runs are scheduled, watched and logged. */
    runs?: {
      /**
       * Most runs executing at once across every backend replica; the rest
       * wait as `queued`, in order. Defaults to 4.
       * @visibility backend
       */
      maxConcurrent?: number;
      /**
       * Most bytes of command output kept per run. Past it, the log keeps the
       * first and last halves and says what was cut. Defaults to 10485760
       * (10 MiB).
       * @visibility backend
       */
      logCapBytes?: number;
      /**
       * How late, in milliseconds, the backend's event loop may run while
       * commands print before their output is read more slowly, so that the
       * portal's other requests keep being served: the command's writes
       * then wait in the engine's buffers. Output is held only within a
       * second of a request to the portal (reads of a run's log aside): with
       * nobody waiting, commands print at the engine's speed. 0 reads output
       * as fast as it comes. Defaults to 20.
       * @visibility backend
       */
      outputMaxLoopLagMs?: number;
      /**
       * How often a backend records that its runs are alive, in seconds.
       * Defaults to 5.
       * @visibility backend
       */
      heartbeatIntervalSeconds?: number;
      /**
       * A run whose backend has been silent this long (on the database's
       * clock) is ended as `interrupted` (never re-run); a backend that could
       * not renew a run for three quarters of it stops the run itself. At
       * least twice the heartbeat interval. Defaults to 30.
       * @visibility backend
       */
      staleAfterSeconds?: number;
      /**
       * How often to look for interrupted runs and leftover containers, in
       * seconds. Defaults to 30.
       * @visibility backend
       */
      recoveryIntervalSeconds?: number;
      /**
       * How long a run and its log are kept after the run ends: a duration
       * such as `90d`, `12 weeks`, `P6M` or `{ days: 90 }`, at least an hour.
       * Older runs are removed by a task that runs hourly on one backend
       * replica at a time; queued and running runs are never removed. `false`
       * keeps every run. Defaults to 90 days.
       * @visibility backend
       */
      retention?: HumanDuration | string | false;
      /**
       * The longest one run may take from its start, all its commands
       * together, in seconds; past it the command running is stopped and the
       * run ends as `timed_out`. Defaults to 14400 (4 hours).
       * @visibility backend
       */
      maxRunSeconds?: number;
      /**
       * Most runs of one entity (all environments together) waiting as
       * `queued` at once, across replicas; more are refused with 429.
       * Defaults to 10.
       * @visibility backend
       */
      maxQueuedPerEntity?: number;
      /**
       * Most runs triggered by one user or service waiting as `queued` at
       * once, across replicas; more are refused with 429. Defaults to 50.
       * @visibility backend
       */
      maxQueuedPerActor?: number;
      /**
       * Most bytes of variable names and values one backend instance holds
       * in memory for its runs that have not started; more runs are refused
       * with 429 until some start. At least 262144 (one run's most).
       * Defaults to 33554432 (32 MiB).
       * @visibility backend
       */
      maxHeldSecretBytes?: number;
      /**
       * Whether every run first looks each step's executable up in the image
       * (`command -v` in one throwaway container, as a dry run does) and
       * fails before step 1, naming the step and the executable, when one is
       * missing, rather than half-way through. An image without /bin/sh
       * cannot be looked into: its steps then run as they are. Defaults to
       * false.
       * @visibility backend
       */
      preflight?: boolean;
    };
    /**
     * What the entity's owners are told through Backstage notifications
     * (when the notifications backend is installed): a run that ends
     * `failed`, `timed_out`, `cancelled` or `interrupted` always, one
     * notification per run linking to it.
     */
    notifications?: {
      /**
       * Whether a run that succeeded is told too. Defaults to false.
       * @visibility backend
       */
      success?: boolean;
      /** The same per environment (by its name), over `success`. */
      environments?: {
        [name: string]: {
          /** @visibility backend */
          success?: boolean;
        };
      };
    };
  };
}
