// What ships: the packed tarball holds the compiled modules (one per source file, names kept, real
// dependencies), the browser bundle and the docs within its size budget, passes publint and "are the
// types wrong", a Node stack trace names our functions and files, and `npm ci` can install the lockfile.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, relative, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { CDN_PREFIX } from '../helpers/example.ts';

const root = resolve(import.meta.dirname, '../..');
const bin = (name: string) => join(root, 'node_modules/.bin', name);
/**
 * Regression ceiling for dist/etcd-fetch.browser.js, min+gzip (50.4 KB measured; the goal for the root entry is
 * 40 KB, printed by `npm run bench`).
 */
const BROWSER_BUDGET = 52 * 1024;
/**
 * Regression ceiling for a page that imports etcd-fetch/kv for put, get, range and txn, bundled from the
 * published modules (25.2 KB measured, 8.7 KB of it ky; the goal is 16 KB, printed by `npm run bench`).
 */
const KV_PAGE_BUDGET = 27 * 1024;
/**
 * Ceiling for the unpacked package: the modules (without comments), their declarations (with their doc
 * comments but not their examples, scripts/trim-declarations.ts), the browser bundle, README, LICENSE, CHANGELOG.
 */
const UNPACKED_BUDGET = 1024 * 1024;
/** The packages the modules import, installed beside etcd-fetch (so an app that uses ky too ships it once). */
const DEPENDENCIES = ['base64-js', 'eventsource-parser', 'ky'];
/** Every file the package ships, as patterns over its paths. */
const SHIPPED = [
  /^package\.json$/,
  /^README\.md$/,
  /^LICENSE$/,
  /^CHANGELOG\.md$/,
  /^dist\/(?:(?:core|kv|lease|watch|concurrency|admin|relay)\/)?[\w-]+\.(?:js|d\.ts)$/,
  /^dist\/etcd-fetch\.browser\.js$/,
];

interface PackedFile {
  path: string;
  size: number;
}

let directory: string;
let tarball: string;
let packed: { unpackedSize: number; files: PackedFile[] };

describe('the packed package', () => {
  before(() => {
    directory = mkdtempSync(join(tmpdir(), 'etcd-fetch-pack-'));
    [packed] = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--pack-destination', directory], { cwd: root, encoding: 'utf8' }),
    );
    tarball = join(directory, (packed as unknown as { filename: string }).filename);
  });
  after(() => rmSync(directory, { recursive: true, force: true }));

  test('ships the modules with their declarations, the browser bundle, README, LICENSE and CHANGELOG, and nothing else', () => {
    const paths = packed.files.map((file) => file.path);
    for (const path of paths)
      assert.ok(
        SHIPPED.some((pattern) => pattern.test(path)),
        `${path} should not ship`,
      );
    for (const path of [
      'LICENSE',
      'README.md',
      'CHANGELOG.md',
      'dist/etcd-fetch.browser.js',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/kv/index.js',
      'dist/relay/index.d.ts',
      'dist/core/errors.js',
    ]) {
      assert.ok(paths.includes(path), `${path} is missing from the package`);
    }
    assert.match(
      readFileSync(join(root, 'LICENSE'), 'utf8'),
      /^MIT License\n\nCopyright \(c\) 2026 etcd-fetch contributors\n/,
    );
    // The browser bundle inlines these MIT libraries: their copyright lines ship with it.
    for (const library of ['ky', 'base64-js', 'eventsource-parser'])
      assert.match(readFileSync(join(root, 'LICENSE'), 'utf8'), new RegExp(`^- ${library}: Copyright`, 'm'));
  });

  test('unpacks within its size budget', (t) => {
    t.diagnostic(
      `unpacked: ${(packed.unpackedSize / 1024).toFixed(1)} KB in ${packed.files.length} files (budget ${UNPACKED_BUDGET / 1024} KB)`,
    );
    assert.ok(
      packed.unpackedSize <= UNPACKED_BUDGET,
      `the package unpacks to ${packed.unpackedSize} bytes, over the ${UNPACKED_BUDGET} budget`,
    );
  });

  test('ky, eventsource-parser and base64-js are real dependencies, imported by the modules, not inlined', () => {
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      devDependencies?: Record<string, string>;
    };
    assert.deepEqual(Object.keys(manifest.dependencies ?? {}).toSorted(), DEPENDENCIES);
    for (const name of DEPENDENCIES)
      assert.equal(manifest.devDependencies?.[name], undefined, `${name} is listed twice`);
    const modules = packed.files.filter(
      (file) => file.path.endsWith('.js') && file.path !== 'dist/etcd-fetch.browser.js',
    );
    const imported = new Set<string>();
    for (const file of modules) {
      const text = readFileSync(join(root, file.path), 'utf8');
      for (const [, specifier] of text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["'];$/gm)) {
        if (!specifier!.startsWith('.')) imported.add(specifier!.split('/')[0]!);
      }
    }
    assert.deepEqual([...imported].toSorted(), DEPENDENCIES, 'the bare imports of the shipped modules');
  });

  test('the modules are one per source file, not minified, and do nothing at load that a bundler must keep', () => {
    const modules = packed.files.filter(
      (file) => file.path.endsWith('.js') && file.path !== 'dist/etcd-fetch.browser.js',
    );
    const sources = readdirSync(join(root, 'src'), { recursive: true, encoding: 'utf8' }).filter((name) =>
      name.endsWith('.ts'),
    );
    assert.deepEqual(
      modules.map((file) => file.path).toSorted(),
      sources.map((name) => `dist/${name.replace(/\.ts$/, '.js')}`).toSorted(),
    );
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { sideEffects?: unknown };
    assert.equal(manifest.sideEffects, false);
    for (const file of modules) {
      const longest = Math.max(
        ...readFileSync(join(root, file.path), 'utf8')
          .split('\n')
          .map((line) => line.length),
      );
      assert.ok(longest < 400, `${file.path} has a line of ${longest} characters: minified?`);
    }
  });

  test('an uncaught error in Node prints a short stack trace naming our functions and files', () => {
    const folder = mkdtempSync(join(tmpdir(), 'etcd-fetch-trace-'));
    try {
      const modules = join(folder, 'node_modules');
      mkdirSync(join(modules, 'etcd-fetch'), { recursive: true });
      execFileSync('tar', ['-xzf', tarball, '-C', join(modules, 'etcd-fetch'), '--strip-components=1']);
      for (const dependency of DEPENDENCIES)
        symlinkSync(join(root, 'node_modules', dependency), join(modules, dependency));
      writeFileSync(
        join(folder, 'main.mjs'),
        `import { Etcd } from 'etcd-fetch';\nnew Etcd({ endpoints: ['not a url'] });\n`,
      );
      const run = spawnSync(process.execPath, ['main.mjs'], { cwd: folder, encoding: 'utf8' });
      assert.notEqual(run.status, 0);
      assert.match(run.stderr, /InvalidArgumentError: .*"not a url"/);
      assert.match(run.stderr, /at checkEndpoint \(.*\/etcd-fetch\/dist\/core\/check-options\.js:\d+:\d+\)/);
      assert.match(run.stderr, /at new Etcd \(.*\/etcd-fetch\/dist\/index\.js:\d+:\d+\)/);
      assert.ok(run.stderr.length < 2048, `the trace is ${run.stderr.length} characters:\n${run.stderr}`);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  test('the lockfile holds every optional package of every platform (npm ci refuses it otherwise)', () => {
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
      packages: Record<
        string,
        {
          optionalDependencies?: Record<string, string>;
          dependencies?: Record<string, string>;
          devDependencies?: Record<string, string>;
        }
      >;
    };
    const missing: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      const wanted = {
        ...entry.dependencies,
        ...entry.optionalDependencies,
        ...(path === '' ? entry.devDependencies : {}),
      };
      for (const name of Object.keys(wanted)) {
        // Node's lookup: node_modules/<name> beside this package, then in each folder above it.
        let base = path;
        for (;;) {
          if (lock.packages[`${base ? `${base}/` : ''}node_modules/${name}`]) break;
          if (!base) {
            missing.push(`${path || '(root)'} -> ${name}`);
            break;
          }
          const parent = base.lastIndexOf('/node_modules/');
          base = parent < 0 ? '' : base.slice(0, parent);
        }
      }
    }
    assert.deepEqual(missing, [], 'packages the lockfile names but does not hold');
  });

  test('npm ci accepts the lockfile (a dry run, offline, in a folder of package.json and package-lock.json alone)', () => {
    const folder = mkdtempSync(join(tmpdir(), 'etcd-fetch-ci-'));
    try {
      for (const file of ['package.json', 'package-lock.json'])
        writeFileSync(join(folder, file), readFileSync(join(root, file)));
      const run = spawnSync('npm', ['ci', '--dry-run', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], {
        cwd: folder,
        encoding: 'utf8',
      });
      assert.equal(run.status, 0, `npm ci refused the lockfile:\n${run.stdout}${run.stderr}`);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  test('publint finds nothing, strictly', () => {
    const output = execFileSync(bin('publint'), ['run', tarball, '--strict'], { cwd: root, encoding: 'utf8' });
    assert.match(output, /All good/);
  });

  test('the types resolve for ESM consumers (are-the-types-wrong, esm-only profile)', () => {
    execFileSync(bin('attw'), [tarball, '--profile', 'esm-only', '--format', 'table-flipped'], {
      cwd: root,
      encoding: 'utf8',
    });
  });

  test('the browser bundle is self-contained and within its size budget', (t) => {
    const bundle = readFileSync(join(root, 'dist/etcd-fetch.browser.js'));
    assert.doesNotMatch(
      bundle.toString(),
      /\bimport\s*(?:[\w$*{}\s,]+from\s*)?["'](?![./])/,
      'no bare import left in the bundle',
    );
    const gzipped = gzipSync(bundle, { level: 9 }).length;
    t.diagnostic(
      `dist/etcd-fetch.browser.js: ${(bundle.length / 1024).toFixed(1)} KB min, ${(gzipped / 1024).toFixed(1)} KB min+gzip (budget ${BROWSER_BUDGET / 1024} KB)`,
    );
    assert.ok(
      gzipped <= BROWSER_BUDGET,
      `browser bundle is ${gzipped} bytes gzipped, over the ${BROWSER_BUDGET} budget`,
    );
  });

  test('a page using only etcd-fetch/kv bundles within its budget (the rest of the client tree-shaken away)', async (t) => {
    const { build } = await import('esbuild');
    const page = `import { createCore, put, get, range, txn, cmp, op } from 'etcd-fetch/kv';
      const core = createCore();
      await put(core, 'k', 'v');
      console.log(await get(core, 'k'), await range(core, { prefix: 'a/' }), await txn(core).if(cmp.version('k', '=', 0)).then(op.put('k', 'v')).commit());`;
    const result = await build({
      stdin: { contents: page, resolveDir: root },
      bundle: true,
      minify: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      write: false,
      logLevel: 'silent',
    });
    const text = result.outputFiles[0]!.text;
    const gzipped = gzipSync(text, { level: 9 }).length;
    t.diagnostic(`etcd-fetch/kv page: ${(gzipped / 1024).toFixed(1)} KB min+gzip (budget ${KV_PAGE_BUDGET / 1024} KB)`);
    assert.doesNotMatch(
      text,
      /text\/event-stream|\/v3\/watch|\/v3\/auth\/user\/add/,
      'watch, relay and admin code stays out of a KV page',
    );
    assert.ok(gzipped <= KV_PAGE_BUDGET, `a KV page is ${gzipped} bytes gzipped, over the ${KV_PAGE_BUDGET} budget`);
  });

  // The published types must compile in a Node-only project (no DOM lib) and in a browser project
  // whose lib has no `esnext.disposable`, with skipLibCheck off, for every subpath.
  for (const [name, options] of [
    [
      'Node-only (lib ES2022, types node)',
      { module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022'], types: ['node'] },
    ],
    [
      'browser without esnext.disposable (lib ES2022 + DOM)',
      { module: 'ESNext', moduleResolution: 'Bundler', lib: ['ES2022', 'DOM'], types: [] },
    ],
  ] as const) {
    test(`the packed types compile in a ${name} project`, () => {
      const project = join(directory, name.replace(/\W+/g, '-'));
      const modules = join(project, 'node_modules');
      mkdirSync(join(modules, 'etcd-fetch'), { recursive: true });
      execFileSync('tar', ['-xzf', tarball, '-C', join(modules, 'etcd-fetch'), '--strip-components=1']);
      for (const dependency of ['ky', 'eventsource-parser', 'base64-js', '@types'])
        symlinkSync(join(root, 'node_modules', dependency), join(modules, dependency));
      writeFileSync(join(project, 'package.json'), '{"type":"module"}');
      writeFileSync(
        join(project, 'consumer.ts'),
        [
          'etcd-fetch',
          'etcd-fetch/kv',
          'etcd-fetch/lease',
          'etcd-fetch/watch',
          'etcd-fetch/concurrency',
          'etcd-fetch/admin',
          'etcd-fetch/relay',
        ]
          .map((subpath, i) => `import * as m${i} from '${subpath}';\nconsole.log(m${i});`)
          .join('\n') +
          '\nconst core = m1.createCore();\nconst etcd = new m0.Etcd({ core });\nawait etcd[Symbol.asyncDispose]();\nexport {};\n',
      );
      writeFileSync(
        join(project, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: { target: 'ES2022', strict: true, skipLibCheck: false, noEmit: true, ...options },
          files: ['consumer.ts'],
        }),
      );
      try {
        execFileSync(bin('tsc'), ['-p', project], { cwd: project, encoding: 'utf8' });
      } catch (error) {
        assert.fail(`tsc failed:\n${(error as { stdout?: string }).stdout ?? String(error)}`);
      }
    });
  }
});

describe('the examples', () => {
  const examples = join(root, 'examples');
  const names = readdirSync(examples).filter((name) => statSync(join(examples, name)).isDirectory());
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  const filesOf = (folder: string): string[] =>
    readdirSync(folder, { withFileTypes: true }).flatMap((entry) =>
      entry.name === 'node_modules' || entry.name === 'dist'
        ? []
        : entry.isDirectory()
          ? filesOf(join(folder, entry.name))
          : [join(folder, entry.name)],
    );
  const testSources = () =>
    filesOf(join(root, 'test'))
      .filter((file) => file.endsWith('.test.ts'))
      .map((file) => readFileSync(file, 'utf8'))
      .join('\n');

  test('there is one per way of using the package', () => {
    for (const name of ['node', 'deno', 'bun', 'browser-cdn', 'vite', 'cloudflare-worker', 'dashboard-widget'])
      assert.ok(names.includes(name), `examples/${name} is missing`);
  });

  for (const name of names) {
    test(`examples/${name} resolves etcd-fetch from the package (the tarball), has a README and is run by a test`, () => {
      const folder = join(examples, name);
      const files = filesOf(folder);
      assert.ok(files.includes(join(folder, 'README.md')), 'README.md');
      for (const file of files.filter((f) => ['.js', '.ts', '.mjs', '.html', '.json'].includes(extname(f)))) {
        const text = readFileSync(file, 'utf8');
        const where = relative(root, file);
        // Every module specifier naming etcd-fetch is the package (or its subpaths) or the CDN file.
        for (const [, specifier] of text.matchAll(
          /(?:from\s*|import\s*\(\s*|import\s+|"etcd-fetch"\s*:\s*)["']([^"']*etcd-fetch[^"']*)["']/g,
        )) {
          assert.match(
            specifier!,
            /^(?:etcd-fetch(?:\/[\w-]+)?|npm:etcd-fetch@\^?[\d.]+|https:\/\/cdn\.jsdelivr\.net\/npm\/etcd-fetch@[\d.]+\/dist\/etcd-fetch\.browser\.js)$/,
            `${where} imports ${specifier}`,
          );
          if (specifier!.startsWith('https:'))
            assert.ok(specifier!.startsWith(CDN_PREFIX), `${where}: the CDN address the tests serve is ${CDN_PREFIX}`);
        }
        assert.doesNotMatch(
          text,
          /["'](?:\.\.\/)+(?:src|dist)\/|["']\/(?:src|dist)\//,
          `${where} reaches into the repository's src/ or dist/`,
        );
        if (file.endsWith('package.json')) {
          const range = (JSON.parse(text) as { dependencies?: Record<string, string> }).dependencies?.['etcd-fetch'];
          assert.ok(
            range?.startsWith('^') && version.startsWith(range.slice(1).split('.').slice(0, 2).join('.')),
            `${where} depends on etcd-fetch ${range}, which ${version} should satisfy`,
          );
        }
      }
      assert.match(
        testSources(),
        new RegExp(`exampleCopy\\('${name}'\\)`),
        `no test runs examples/${name} from the tarball (exampleCopy('${name}'))`,
      );
    });
  }
});

describe('the API reference', () => {
  interface Comment {
    summary?: unknown[];
    blockTags?: Array<{ tag: string }>;
  }
  interface Reflection {
    name: string;
    kind: number;
    comment?: Comment;
    signatures?: Array<{ comment?: Comment }>;
    children?: Reflection[];
  }
  /** TypeDoc's ReflectionKind.Reference: a re-export of what another entry point already documents. */
  const REFERENCE = 4194304;

  test('TypeDoc builds it without a warning, and every public export has a doc comment with an @example', (t) => {
    const out = mkdtempSync(join(tmpdir(), 'etcd-fetch-api-'));
    try {
      // Warnings reported, not fatal, so that one run lists every problem; typedoc.json is what `npm run docs` uses.
      const run = spawnSync(
        bin('typedoc'),
        ['--json', join(out, 'api.json'), '--out', join(out, 'html'), '--treatWarningsAsErrors', 'false'],
        { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } },
      );
      const output = `${run.stdout}${run.stderr}`;
      assert.equal(run.status, 0, `typedoc failed:\n${output}`);
      const warnings = output
        .split('\n')
        .filter((line) => /\[(?:warning|error)\]/.test(line) && !/Found \d+ errors and \d+ warnings/.test(line));
      const project = JSON.parse(readFileSync(join(out, 'api.json'), 'utf8')) as Reflection;
      const exports = (project.children ?? []).flatMap((module) =>
        (module.children ?? []).filter((child) => child.kind !== REFERENCE),
      );
      const comments = (reflection: Reflection) =>
        [reflection.comment, ...(reflection.signatures ?? []).map((signature) => signature.comment)].filter(
          (c) => c !== undefined,
        );
      const withoutExample = exports
        .filter(
          (reflection) =>
            !comments(reflection).some((comment) => (comment.blockTags ?? []).some((tag) => tag.tag === '@example')),
        )
        .map((reflection) => reflection.name)
        .toSorted();
      t.diagnostic(
        `${exports.length} public exports, ${exports.length - withoutExample.length} with an @example; ${warnings.length} TypeDoc warnings`,
      );
      assert.ok(exports.length > 100, `TypeDoc found only ${exports.length} exports`);
      assert.deepEqual(
        warnings,
        [],
        'TypeDoc warnings (an undocumented export or member, a broken link, an internal type in a public signature)',
      );
      assert.deepEqual(withoutExample, [], 'public exports without an @example in their doc comment');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
