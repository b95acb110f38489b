// A virtualised list of fixed-height rows: only the rows in view (plus a margin) are in the
// DOM, so 30 000 rows scroll like 30. The container is one tab stop (role="tree" or "listbox"),
// its active row named by aria-activedescendant and moved with the arrow keys.
const MARGIN = 12;

export class VirtualList {
  /**
   * @param container the scrolling element (focusable)
   * @param options.rowHeight px per row
   * @param options.render(row, element, index) fills a row's element (called when it enters the view or changes)
   * @param options.key(row) a stable id of a row
   * @param options.keys(event, index) handles a key press on the active row; true when handled
   */
  constructor(container, { rowHeight, render, key, keys }) {
    this.container = container;
    this.rowHeight = rowHeight;
    this.renderRow = render;
    this.keyOf = key;
    this.onKey = keys;
    this.rows = [];
    this.active = 0;
    this.shown = new Map(); // row key -> element
    this.spacer = document.createElement('div');
    this.spacer.className = 'spacer';
    this.spacer.setAttribute('role', 'none');
    container.append(this.spacer);
    container.tabIndex = 0;
    container.addEventListener('scroll', () => this.schedule());
    container.addEventListener('keydown', (event) => this.keydown(event));
    new ResizeObserver(() => this.schedule()).observe(container);
  }

  setRows(rows) {
    this.rows = rows;
    if (this.active >= rows.length) this.active = Math.max(0, rows.length - 1);
    this.schedule();
  }

  /** Re-renders the rows in view on the next frame (many calls, one render). */
  schedule() {
    this.frame ??= requestAnimationFrame(() => {
      this.frame = undefined;
      this.render();
    });
  }

  render() {
    const { rowHeight, rows } = this;
    // Reads before writes: one layout per render, not one per row.
    const height = this.container.clientHeight || 400;
    const { scrollTop } = this.container;
    this.spacer.style.height = `${rows.length * rowHeight}px`;
    const first = Math.max(0, Math.floor(scrollTop / rowHeight) - MARGIN);
    const last = Math.min(rows.length, Math.ceil((scrollTop + height) / rowHeight) + MARGIN);
    const keep = new Map();
    for (let i = first; i < last; i++) {
      const row = rows[i];
      const id = this.keyOf(row);
      let element = this.shown.get(id);
      if (!element) {
        element = document.createElement('div');
        this.spacer.append(element);
      }
      this.shown.delete(id);
      keep.set(id, element);
      element.style.transform = `translateY(${i * rowHeight}px)`;
      element.classList.toggle('active', i === this.active);
      this.renderRow(row, element, i);
    }
    for (const element of this.shown.values()) element.remove();
    this.shown = keep;
    const active = rows[this.active] && keep.get(this.keyOf(rows[this.active]));
    if (active) this.container.setAttribute('aria-activedescendant', active.id);
    else this.container.removeAttribute('aria-activedescendant');
  }

  /** Makes row `index` the active one and scrolls it into view. */
  activate(index) {
    if (this.rows.length === 0) return;
    this.active = Math.max(0, Math.min(this.rows.length - 1, index));
    const top = this.active * this.rowHeight;
    const { scrollTop, clientHeight } = this.container;
    if (top < scrollTop) this.container.scrollTop = top;
    else if (top + this.rowHeight > scrollTop + clientHeight)
      this.container.scrollTop = top + this.rowHeight - clientHeight;
    this.render();
  }

  keydown(event) {
    const page = Math.max(1, Math.floor(this.container.clientHeight / this.rowHeight) - 1);
    const moves = { ArrowDown: 1, ArrowUp: -1, PageDown: page, PageUp: -page };
    if (event.key in moves) this.activate(this.active + moves[event.key]);
    else if (event.key === 'Home') this.activate(0);
    else if (event.key === 'End') this.activate(this.rows.length - 1);
    else if (!this.onKey?.(event, this.active)) return;
    event.preventDefault();
  }
}
