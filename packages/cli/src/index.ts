/**
 * The `release-commands` command line, for deploy pipelines.
 *
 * @packageDocumentation
 */
import { createProgram } from './createProgram';

createProgram()
  .parseAsync(process.argv)
  .catch(error => {
    process.stderr.write(`release-commands: ${error.message}\n`);
    process.exit(2);
  });
