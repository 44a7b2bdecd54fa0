import { createApp } from '@backstage/frontend-defaults';
import catalogPlugin from '@backstage/plugin-catalog/alpha';
import ReactDOM from 'react-dom/client';
import releaseCommandsPlugin from '../src/alpha';

const app = createApp({ features: [catalogPlugin, releaseCommandsPlugin] });
ReactDOM.createRoot(document.getElementById('root')!).render(app.createRoot());
