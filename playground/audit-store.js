// The audit trail's storage in IndexedDB: one journal per (endpoints, prefix) with the last
// revision it recorded, and its entries, so a reloaded page carries on where it stopped.
const NAME = 'etcd-playground-audit';

let opening;

function db() {
  opening ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(NAME, 1);
    request.onupgradeneeded = () => {
      const database = request.result;
      database.createObjectStore('journals', { keyPath: 'id' });
      database.createObjectStore('entries', { autoIncrement: true }).createIndex('journal', 'journal');
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return opening;
}

const done = (request) =>
  new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });

async function store(name, mode = 'readonly') {
  return (await db()).transaction(name, mode).objectStore(name);
}

export const journalId = (endpoints, prefix) => `${endpoints.join(',')}\n${prefix}`;

export async function journals() {
  return done((await store('journals')).getAll());
}

export async function saveJournal(journal) {
  await done((await store('journals', 'readwrite')).put(journal));
}

/** Adds entries and moves the journal's last revision on, in one transaction. */
export async function record(journal, entries) {
  const transaction = (await db()).transaction(['journals', 'entries'], 'readwrite');
  const entryStore = transaction.objectStore('entries');
  for (const entry of entries) entryStore.add(entry);
  transaction.objectStore('journals').put(journal);
  await new Promise((resolve, reject) => {
    transaction.oncomplete = resolve;
    transaction.onerror = () => reject(transaction.error);
  });
}

export async function entriesOf(id) {
  return done((await store('entries')).index('journal').getAll(id));
}

export async function forget(id) {
  const transaction = (await db()).transaction(['journals', 'entries'], 'readwrite');
  transaction.objectStore('journals').delete(id);
  const index = transaction.objectStore('entries').index('journal');
  const keys = await done(index.getAllKeys(id));
  for (const key of keys) transaction.objectStore('entries').delete(key);
  await new Promise((resolve, reject) => {
    transaction.oncomplete = resolve;
    transaction.onerror = () => reject(transaction.error);
  });
}
