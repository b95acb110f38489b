// The playground: an etcd dashboard that uses the browser bundle exactly as a user would.
import { initClusterPanel } from './cluster-panel.js';
import { initConnection } from './connection.js';
import { initKeyTree } from './key-tree.js';
import { initTxnForm } from './txn-form.js';
import { initValueEditor } from './value-editor.js';
import { initWatchPanel } from './watch-panel.js';

initKeyTree();
initValueEditor();
initWatchPanel();
initTxnForm();
initClusterPanel();
await initConnection();
