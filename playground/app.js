// The playground: an etcd dashboard that uses the browser bundle exactly as a user would.
import { initAuthPanel } from './auth-panel.js';
import { initClusterPanel } from './cluster-panel.js';
import { initConnection } from './connection.js';
import { initImportExport } from './import-export.js';
import { initKeyHistory } from './key-history.js';
import { initKeyTree } from './key-tree.js';
import { initLockInspector } from './lock-inspector.js';
import { initMaintenance } from './maintenance-panel.js';
import { initTheme } from './theme.js';
import { initTimeTravel } from './time-travel.js';
import { initTxnForm } from './txn-form.js';
import { initValueEditor } from './value-editor.js';
import { initWatchPanel } from './watch-panel.js';

initTheme();
initKeyTree();
initValueEditor();
initKeyHistory();
initWatchPanel();
initTxnForm();
initClusterPanel();
initMaintenance();
initImportExport();
initAuthPanel();
initTimeTravel();
initLockInspector();
await initConnection();
