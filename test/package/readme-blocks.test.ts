// The code in README.md and docs/*.md is what users copy: every ```ts block (and the module script of every
// ```html block) type-checks as a module against the packed package, none uses `await using` (a SyntaxError on
// Node 22, the lowest Node that `engines` names), and every ```ts block not marked `no-run` runs in Node against
// a real etcd. Blocks name etcd as http://127.0.0.1:2379 or read ETCD_ENDPOINTS; the test replaces that address
// with its own etcd's and sets ETCD_ENDPOINTS to it. A block marked ```ts no-run (a worker's handler, code for
// another runtime, a fragment) is type-checked only.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { useEtcd } from '../helpers/etcd.ts';
import { CDN_PREFIX, packedPackage, root } from '../helpers/example.ts';
import { runProcess } from '../helpers/run-process.ts';

/** The address blocks use for etcd; the test puts its own etcd's there. */
const DEFAULT_ENDPOINT = 'http://127.0.0.1:2379';
/** What the packed package needs beside it, and what blocks may import besides etcd-fetch. */
const LINKED = ['ky', 'eventsource-parser', 'base64-js', '@types', 'undici', 'undici-types'];
/** Longest a block may run. */
const BLOCK_TIMEOUT = 20_000;

interface Block {
  /** `README.md:42` (the line of the opening fence). */
  where: string;
  language: 'ts' | 'html';
  run: boolean;
  code: string;
  file: string;
}

/** Every fenced ```ts and ```html block of the markdown files, with its info string's `no-run`. */
function blocksOf(files: string[]): Block[] {
  const blocks: Block[] = [];
  for (const path of files) {
    const lines = readFileSync(join(root, path), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const open = /^```(\w+)(.*)$/.exec(lines[i]!);
      if (!open) continue;
      const end = lines.indexOf('```', i + 1);
      assert.ok(end > i, `${path}:${i + 1}: a code block that never ends`);
      const [, language, info] = open;
      if (language === 'ts' || language === 'html') {
        const flags = info!.trim().split(/\s+/).filter(Boolean);
        for (const flag of flags) assert.equal(flag, 'no-run', `${path}:${i + 1}: unknown block flag ${flag}`);
        blocks.push({
          where: `${path}:${i + 1}`,
          language,
          run: language === 'ts' && !flags.includes('no-run'),
          code: lines.slice(i + 1, end).join('\n'),
          file: `block-${blocks.length + 1}.${language === 'ts' ? 'ts' : 'js'}`,
        });
      }
      i = end;
    }
  }
  return blocks;
}

const markdown = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .toSorted()
    .map((name) => `docs/${name}`),
];
const blocks = blocksOf(markdown);
const etcdUnderTest = useEtcd();
let folder: string;

/** The block as a module: ts blocks as they are, html blocks' `<script type="module">` contents. */
function sourceOf(block: Block): string {
  if (block.language === 'ts') return `${block.code}\nexport {};\n`;
  // html blocks: the module scripts, as plain JavaScript
  const scripts = [...block.code.matchAll(/<script type="module">([\s\S]*?)<\/script>/g)].map((match) => match[1]);
  return `${scripts.join('\n')}\nexport {};\n`;
}

describe('the code blocks of README.md and docs/*.md', () => {
  before(() => {
    folder = mkdtempSync(join(tmpdir(), 'etcd-fetch-readme-'));
    const modules = join(folder, 'node_modules');
    mkdirSync(modules);
    cpSync(packedPackage(), join(modules, 'etcd-fetch'), { recursive: true });
    for (const name of LINKED) symlinkSync(join(root, 'node_modules', name), join(modules, name));
    writeFileSync(join(folder, 'package.json'), '{"type":"module"}');
  });
  after(() => rmSync(folder, { recursive: true, force: true }));

  test('there are blocks, each with a line that names where it is', () => {
    assert.ok(blocks.filter((block) => block.run).length >= 10, `only ${blocks.length} runnable blocks found`);
  });

  test('no block uses `await using` (a SyntaxError on Node 22)', () => {
    for (const block of blocks) assert.doesNotMatch(block.code, /\bawait using\b/, `${block.where} uses await using`);
  });

  test('every ts block and every html module script type-checks against the packed package', () => {
    for (const block of blocks) writeFileSync(join(folder, block.file), sourceOf(block));
    writeFileSync(
      join(folder, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          // No ESNext.Disposable: what runs on Node 22 needs none.
          lib: ['ES2023', 'DOM', 'DOM.Iterable'],
          types: ['node'],
          strict: true,
          noUncheckedIndexedAccess: true,
          skipLibCheck: true,
          noEmit: true,
          allowImportingTsExtensions: true,
          // html blocks are plain JavaScript, checked as such.
          allowJs: true,
          checkJs: true,
          // The CDN file the html blocks import is the package's browser entry.
          paths: { [`${CDN_PREFIX}dist/etcd-fetch.browser.js`]: ['./node_modules/etcd-fetch/dist/index.d.ts'] },
        },
        files: blocks.map((block) => block.file),
      }),
    );
    let output = '';
    try {
      execFileSync(join(root, 'node_modules/.bin/tsc'), ['-p', folder], { cwd: folder, encoding: 'utf8' });
    } catch (error) {
      output = (error as { stdout?: string }).stdout ?? String(error);
    }
    // Name each error by the block's place in the markdown, not the scratch file.
    const located = output.replace(/block-(\d+)\.[jt]s\((\d+),(\d+)\)/g, (_, index: string, line: string) => {
      const block = blocks[Number(index) - 1]!;
      const [path, start] = block.where.split(':');
      return `${path}:${Number(start) + Number(line)}`;
    });
    assert.equal(located, '', 'blocks that do not type-check');
  });

  for (const block of blocks.filter((candidate) => candidate.run)) {
    test(`${block.where} runs against a real etcd`, async () => {
      const code = sourceOf(block).replaceAll(DEFAULT_ENDPOINT, etcdUnderTest.endpoint);
      writeFileSync(join(folder, block.file), code);
      try {
        await runProcess(
          process.execPath,
          [block.file],
          { ETCD_ENDPOINTS: etcdUnderTest.endpoint },
          BLOCK_TIMEOUT,
          folder,
        );
      } catch (error) {
        assert.fail(`${block.where}: ${(error as Error).message}`);
      }
    });
  }
});
