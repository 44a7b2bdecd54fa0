import path from 'node:path';

// Set by Yarn for the script it runs (`yarn backstage-cli package test`):
// the package being run, and a temporary folder with its own `yarn` and
// `node` first on PATH. A person's shell has none of them.
const YARN_RUN_VARIABLES = [
  'BERRY_BIN_FOLDER',
  'INIT_CWD',
  'PROJECT_CWD',
  'npm_config_user_agent',
  'npm_execpath',
  'npm_node_execpath',
];

/**
 * The environment of a person's shell for commands a suite runs as that
 * person would (a start script, `yarn` in another project): the test
 * process's own, without what Jest and the Yarn script running it added.
 * Settings of the machine, such as `npm_config_nodedir`, stay.
 */
export function shellEnvironment(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  const yarnBin = env.BERRY_BIN_FOLDER;
  for (const name of Object.keys(env)) {
    if (
      name === 'NODE_ENV' ||
      name.startsWith('JEST_') ||
      name.startsWith('npm_package_') ||
      name.startsWith('npm_lifecycle_') ||
      YARN_RUN_VARIABLES.includes(name)
    ) {
      delete env[name];
    }
  }
  if (yarnBin && env.PATH) {
    env.PATH = env.PATH.split(path.delimiter)
      .filter(dir => dir !== yarnBin)
      .join(path.delimiter);
  }
  return env;
}
