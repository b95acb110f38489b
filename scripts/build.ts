// `npm run build`: the modules npm ships (one ES module per source file, declarations beside each,
// imports of ky, eventsource-parser and base64-js left to the user's bundler) and the self-contained
// minified file for CDNs, `<script type="module">` and workerd (dist/etcd-fetch.browser.js).
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { trimDeclarations } from './trim-declarations.ts';

const root = resolve(import.meta.dirname, '..');
const bin = (name: string) => join(root, 'node_modules', '.bin', name);
const run = (command: string, args: string[]) => execFileSync(bin(command), args, { cwd: root, stdio: 'inherit' });

rmSync(join(root, 'dist'), { recursive: true, force: true });
run('tsc', ['-p', 'tsconfig.build.json']);
run('tsc', ['-p', 'tsconfig.build.json', '--declaration', '--emitDeclarationOnly']);
trimDeclarations(join(root, 'dist'));
run('tsup', ['--silent']);
