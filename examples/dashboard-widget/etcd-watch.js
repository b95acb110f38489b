// <etcd-watch prefix="dashboard/" endpoints="http://127.0.0.1:2379">: a live table of the keys under
// a prefix, kept current by a reflector (list, then watch; relists after a compaction).
import { Etcd, reflect } from 'etcd-fetch';

class EtcdWatch extends HTMLElement {
  #etcd;

  async connectedCallback() {
    this.#etcd = new Etcd({ endpoints: this.getAttribute('endpoints') ?? 'http://127.0.0.1:2379' });
    const prefix = this.getAttribute('prefix') ?? '';
    const table = this.appendChild(document.createElement('table'));
    try {
      for await (const { items } of reflect(this.#etcd, { prefix })) {
        table.replaceChildren(...[...items.values()].map((kv) => row(kv.keyText.slice(prefix.length), kv.valueText)));
      }
    } catch (error) {
      if (this.isConnected) this.replaceChildren(`etcd: ${error.message}`);
    }
  }

  disconnectedCallback() {
    this.#etcd?.close(); // ends the reflector's watch
  }
}

function row(...cells) {
  const tr = document.createElement('tr');
  for (const text of cells) tr.appendChild(document.createElement('td')).textContent = text;
  return tr;
}

customElements.define('etcd-watch', EtcdWatch);
