// The widget page (inside the loader's iframe, or opened on its own). The shell with the quick
// exit button renders at once; the session and libsodium come in a separate chunk.
import './widget.css';
import { parseConfig } from './config.js';
import { WidgetApp } from './app.js';

const root = document.getElementById('app');
if (root) {
  const app = new WidgetApp(root, parseConfig(location.hash), {
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`,
    loadSession: () => import('./session_boot.js'),
  });
  app.start();
}
