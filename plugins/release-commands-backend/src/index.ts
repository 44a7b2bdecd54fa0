export { releaseCommandsPlugin as default } from './plugin';
