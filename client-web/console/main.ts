// Entry point of the worker console page (console/index.html).
import { initSodium } from '../common/crypto/index.js';
import { ConsoleApp } from './app.js';
import './console.css';

await initSodium();
new ConsoleApp(document.getElementById('app')!).start();
