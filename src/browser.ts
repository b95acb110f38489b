/**
 * etcd-fetch/browser: one self-contained module with everything (the root entry, concurrency,
 * admin and relay), for `<script type="module">`, CDNs and workerd, where there is no bundler to
 * pick entries.
 * @module etcd-fetch/browser
 */
export * from './admin/index.ts';
export * from './concurrency/index.ts';
export * from './index.ts';
export * from './relay/index.ts';
