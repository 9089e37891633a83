// Vitest setup: every test file starts with libsodium loaded.
import { initSodium } from './sodium.js';

await initSodium();
