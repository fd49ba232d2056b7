// A table view: columns, a text filter, sorting by a column (click its
// header), pages of pageSize rows (only one page is in the document, so a
// thousand guests stay quick), rows updated in place with update(rows).
//   tableView({columns: [{key, label, render(row) -> node|string, value(row), narrow}],
//              rowKey: (row) => id, filter: true, empty: 'No guests', pageSize: 50, sortKey})
import {h, mount} from './dom.js';

export function tableView({columns, rowKey, filter = true, empty = 'Nothing here', label, pageSize = 50, sortKey: firstSort}) {
  let rows = [];
  let sortKey = firstSort || columns[0].key, sortDir = 1, text = '', page = 0;
  const body = h('tbody');
  const input = filter ? h('input', {type: 'search', placeholder: 'Filter', 'aria-label': `Filter ${label || ''}`.trim(),
    oninput: (e) => { text = e.target.value.toLowerCase(); page = 0; draw(); }}) : null;
  const value = (c, r) => (c.value ? c.value(r) : r[c.key]);
  const head = h('tr', {}, columns.map((c) => h('th', {class: c.narrow ? 'hide-narrow' : ''},
    c.sortable === false ? c.label : h('button', {class: 'sort', type: 'button', onclick: () => {
      sortDir = sortKey === c.key ? -sortDir : 1;
      sortKey = c.key;
      draw();
    }}, c.label))));
  const table = h('table', {'aria-label': label || ''}, h('thead', {}, head), body);
  const where = h('span', {class: 'muted pager-where'});
  const prev = h('button', {type: 'button', class: 'pager-prev', 'aria-label': 'Previous page',
    onclick: () => { page--; draw(); }}, '‹ Previous');
  const next = h('button', {type: 'button', class: 'pager-next', 'aria-label': 'Next page',
    onclick: () => { page++; draw(); }}, 'Next ›');
  const pager = h('div', {class: 'pager toolbar'}, prev, where, next);
  const el = h('div', {class: 'table-view'}, input ? h('div', {class: 'toolbar'}, input) : null,
    h('div', {class: 'table-wrap'}, table), pager);

  function draw() {
    const col = columns.find((c) => c.key === sortKey);
    const shown = rows.filter((r) => !text || columns.some((c) =>
      String(value(c, r) ?? '').toLowerCase().includes(text)));
    shown.sort((a, b) => {
      const x = value(col, a), y = value(col, b);
      return (typeof x === 'number' && typeof y === 'number' ? x - y : String(x ?? '').localeCompare(String(y ?? ''))) * sortDir;
    });
    const pages = Math.max(1, Math.ceil(shown.length / pageSize));
    page = Math.min(Math.max(page, 0), pages - 1);
    const first = page * pageSize, slice = shown.slice(first, first + pageSize);
    pager.hidden = shown.length <= pageSize;
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
    where.textContent = `${first + 1}–${first + slice.length} of ${shown.length}`;
    if (!shown.length) {
      mount(body, h('tr', {}, h('td', {colspan: columns.length, class: 'muted'}, rows.length ? 'No match' : empty)));
      return;
    }
    mount(body, slice.map((r) => h('tr', {dataset: {key: rowKey(r)}},
      columns.map((c) => h('td', {class: [c.class, c.narrow ? 'hide-narrow' : ''].filter(Boolean).join(' ')},
        c.render ? c.render(r) : String(r[c.key] ?? ''))))));
  }

  return {el, update(next) { rows = next; draw(); }};
}
