// Helpers shared by the tests and the Node scripts (not part of the library's exports).
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** protocol/vectors/ in the repository, found from this file's location. */
export function vectorsDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = path.join(dir, 'protocol', 'vectors');
    if (existsSync(path.join(dir, 'protocol')) && existsSync(path.join(dir, 'client-web'))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('cannot find the repository root (protocol/ and client-web/) above ' + import.meta.url);
}

/** Full path of a file in protocol/vectors/. */
export function vectorPath(name: string): string {
  return path.join(vectorsDir(), name);
}

/**
 * Parses a JSON file from protocol/vectors/. TODO(#4): the local copy in testdata/ is a stopgap
 * until the C++ side commits the shared files; then it goes and a missing file is an error.
 */
export function readVectors<T>(name: string): T {
  const shared = vectorPath(name);
  const file = existsSync(shared) ? shared : path.join(path.dirname(fileURLToPath(import.meta.url)), 'testdata', name);
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

/** Low-order points of Curve25519 (from libsodium's blacklist): X25519 with any of them is all zeros. */
export const lowOrderPoints = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
];
