// Storage pools with fill bars; each pool's volumes: create, delete, upload
// a file with a progress bar.
import {get, post, del, upload, q} from '../api.js';
import {h, mount, toast} from '../dom.js';
import {subscribe} from '../events.js';
import {bytes} from '../format.js';
import {formView} from '../form.js';
import {canWrite} from '../session.js';
import {tableView} from '../table.js';

export function fillBar(p) {
  if (!p.capacity) return '';
  const used = Math.max(0, p.capacity - (p.available ?? 0));
  const pct = Math.round((used / p.capacity) * 100);
  return h('div', {title: `${bytes(used)} of ${bytes(p.capacity)} used`},
    h('div', {class: `bar ${pct > 85 ? 'high' : ''}`, role: 'meter', 'aria-valuenow': pct, 'aria-valuemin': 0,
      'aria-valuemax': 100}, h('span', {style: {width: `${pct}%`}})), h('small', {class: 'muted'}, `${pct}% of ${bytes(p.capacity)}`));
}

function uploadForm(pool, refresh) {
  const bar = h('progress', {max: 100, value: 0, id: 'upload-progress', hidden: true});
  const status = h('span', {class: 'muted', id: 'upload-status'});
  let current = null;
  const cancel = h('button', {type: 'button', id: 'upload-cancel', hidden: true, onclick: () => current && current.abort()}, 'Cancel');
  const form = formView({label: `Upload to ${pool}`, submit: 'Upload', fields: [
    {name: 'name', label: 'Volume name', required: true, pattern: '[A-Za-z0-9_.+-]+'},
    {name: 'file', label: 'File', type: 'file', required: true},
  ], onSubmit: async ({name, file}) => {
    bar.hidden = false; cancel.hidden = false; bar.value = 0;
    current = upload(`/v1/pools/${q(pool)}/volumes/${q(name)}/data`, file, (done, total) => {
      bar.value = total ? Math.round((done / total) * 100) : 0;
      status.textContent = `${bytes(done)} of ${bytes(total)}`;
    });
    try {
      await current.promise;
      bar.value = 100;
      status.textContent = `uploaded ${name} (${bytes(file.size)})`;
    } finally {
      cancel.hidden = true;
      current = null;
      refresh();
    }
  }});
  return h('div', {}, form.el, h('div', {class: 'toolbar'}, bar, cancel), status);
}

// One pool's card, made once: refreshes update its bar and table in place, so
// a form being filled in is never replaced under the user.
function poolCard(p, refresh) {
  const columns = [
    {key: 'name', label: 'Volume'}, {key: 'format', label: 'Format'},
    {key: 'capacity', label: 'Capacity', render: (v) => bytes(v.capacity)},
    {key: 'allocation', label: 'Allocated', render: (v) => bytes(v.allocation), narrow: true},
  ];
  if (canWrite())
    columns.push({key: 'actions', label: '', sortable: false, value: () => '', render: (v) =>
      h('button', {type: 'button', class: 'danger', dataset: {action: 'delete'}, onclick: async () => {
        if (!confirm(`Delete volume ${v.name}?`)) return;
        try { await del(`/v1/pools/${q(p.name)}/volumes/${q(v.name)}`); } catch (e) { toast(e.message, true); }
        refresh();
      }}, 'Delete')});
  const table = tableView({columns, rowKey: (v) => v.name, empty: 'No volumes', label: `Volumes of ${p.name}`});
  const bar = h('div');
  const el = h('section', {class: 'card', dataset: {pool: p.name}},
    h('h2', {}, `${p.name} `, h('small', {class: 'muted'}, `${p.type} ${p.path || p.vg || ''}`)), bar, table.el);
  if (canWrite()) {
    const create = formView({label: `New volume in ${p.name}`, submit: 'Create volume', fields: [
      {name: 'name', label: 'Name', required: true, pattern: '[A-Za-z0-9_.+-]+'},
      {name: 'capacity', label: 'Capacity', required: true, placeholder: '1G', pattern: '[0-9]+[KMGT]?'},
      {name: 'format', label: 'Format', options: ['qcow2', 'raw']},
    ], onSubmit: async (v) => { await post(`/v1/pools/${q(p.name)}/volumes`, v); refresh(); }});
    el.append(h('h2', {}, 'New volume'), create.el, h('h2', {}, 'Upload'), uploadForm(p.name, refresh));
  }
  return {el, async update(info) {
    mount(bar, fillBar(info));
    table.update(await get(`/v1/pools/${q(p.name)}/volumes`));
  }};
}

export async function storagePage(outlet) {
  const list = h('div', {id: 'pools'});
  outlet.append(h('h1', {}, 'Storage'), list);
  if (canWrite()) {
    const form = formView({label: 'New pool', submit: 'Create pool', fields: [
      {name: 'name', label: 'Pool name', required: true, pattern: '[A-Za-z0-9_.+-]+'},
      {name: 'path', label: 'Directory', required: true, placeholder: '/var/lib/strata/images'},
    ], onSubmit: async (v) => { await post('/v1/pools', {...v, type: 'dir'}); refresh(); }});
    outlet.append(h('h2', {}, 'New dir pool'), form.el);
  }
  const cards = new Map();
  const none = h('p', {class: 'muted'}, 'No storage pools');
  let running = null, again = false;
  async function refresh() {
    if (running) { again = true; return running; }
    running = (async () => {
      do {
        again = false;
        try {
          const pools = await get('/v1/pools');
          for (const name of [...cards.keys()])
            if (!pools.some((p) => p.name === name)) { cards.get(name).el.remove(); cards.delete(name); }
          for (const p of pools) {
            if (!cards.has(p.name)) cards.set(p.name, poolCard(p, refresh));
            await cards.get(p.name).update(p);
          }
          const want = pools.length ? pools.map((p) => cards.get(p.name).el) : [none];
          if (want.length !== list.children.length || want.some((el, i) => list.children[i] !== el))
            mount(list, want);  // only when pools came or went: a focused field keeps its focus
        } catch (e) {
          toast(`storage: ${e.message}`, true);
        }
      } while (again);
      running = null;
    })();
    return running;
  }
  const off = subscribe((e) => { if (e.object === 'pool' || e.object === 'volume') refresh(); });
  await refresh();
  return off;
}
