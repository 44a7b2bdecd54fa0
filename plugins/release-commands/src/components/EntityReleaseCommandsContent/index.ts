export { EntityReleaseCommandsContent } from './EntityReleaseCommandsContent';
